// The OS's network state into the core: ConnectivityManager's default
// network callback → Mooring.setHostNetwork(online, metered). The core probes
// the server itself (captive portals, unreachable servers), so "online" here
// is only "the OS has a network with internet capability".
package dev.mooring.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.ProxyInfo
import android.net.Uri
import dev.mooring.Mooring

class ConnectivityBridge(context: Context, private val mooring: Mooring) : AutoCloseable {
    companion object {
        /** The state now, for `MooringOptions(hostOnline = ..., metered = ...)` at open. */
        fun current(context: Context): Pair<Boolean, Boolean> {
            val cm = connectivityManager(context)
            return state(cm.getNetworkCapabilities(cm.activeNetwork))
        }

        /**
         * The OS's HTTP proxy (Wi-Fi settings, a VPN's, or MDM's global proxy)
         * as `MooringOptions(proxyUrl = ...)` takes it; null for none, and for
         * a PAC file (not supported: it needs a JavaScript engine).
         */
        fun proxyUrl(context: Context): String? = proxyUrl(connectivityManager(context).defaultProxy)

        internal fun proxyUrl(proxy: ProxyInfo?): String? {
            if (proxy == null || proxy.pacFileUrl != Uri.EMPTY) return null
            val host = proxy.host?.takeIf { it.isNotEmpty() } ?: return null
            if (proxy.port !in 1..65535) return null
            return if (':' in host) "http://[$host]:${proxy.port}" else "http://$host:${proxy.port}"
        }

        // getSystemService is @Nullable; every phone has this one.
        private fun connectivityManager(context: Context): ConnectivityManager =
            checkNotNull(context.getSystemService(ConnectivityManager::class.java)) { "no ConnectivityManager" }

        private fun state(caps: NetworkCapabilities?): Pair<Boolean, Boolean> {
            val online = caps?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) == true
            val metered = caps?.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED) != true
            return online to metered
        }
    }

    private val cm = connectivityManager(context.applicationContext)
    private var registered = false

    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) = push(caps)

        // The default network is gone; a new one, if any, comes through onCapabilitiesChanged.
        override fun onLost(network: Network) = push(null)
    }

    /** Sends the state now, then every change, until [close]. */
    fun start() {
        if (registered) return
        push(cm.getNetworkCapabilities(cm.activeNetwork))
        cm.registerDefaultNetworkCallback(callback)
        registered = true
    }

    private fun push(caps: NetworkCapabilities?) {
        val (online, metered) = state(caps)
        runCatching { mooring.setHostNetwork(online, metered) } // Closed after sign-out: nothing to tell
    }

    override fun close() {
        if (registered) cm.unregisterNetworkCallback(callback)
        registered = false
    }
}
