// ConnectivityBridge on the real Android framework (Robolectric's
// android-all, SDK 35) over a real Mooring on the emulator: Robolectric's
// ConnectivityManager plays the OS (the default network and its callbacks),
// the status read back from the Rust core shows what the bridge told it.
package dev.mooring.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import android.net.NetworkCapabilities.NET_CAPABILITY_INTERNET
import android.net.NetworkCapabilities.NET_CAPABILITY_NOT_METERED
import android.net.ProxyInfo
import android.net.Uri
import dev.mooring.Emulator
import dev.mooring.Mooring
import dev.mooring.ffi.Connectivity
import dev.mooring.ffi.StatusWarning
import dev.mooring.ffi.SyncIcon
import dev.mooring.openApp
import dev.mooring.testOptions
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.test.runTest
import org.junit.BeforeClass
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNetworkCapabilities

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class ConnectivityBridgeTest {
    companion object {
        @JvmStatic
        @BeforeClass
        fun logging() = Mooring.initLogging(System.getenv("MOORING_LOG") ?: "warn")
    }

    @get:Rule
    val tmp = TemporaryFolder()

    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val cm: ConnectivityManager get() = context.getSystemService(ConnectivityManager::class.java)!!

    private fun caps(internet: Boolean, unmetered: Boolean): NetworkCapabilities =
        ShadowNetworkCapabilities.newInstance().also {
            val shadow = shadowOf(it)
            if (internet) shadow.addCapability(NET_CAPABILITY_INTERNET)
            if (unmetered) shadow.addCapability(NET_CAPABILITY_NOT_METERED)
        }

    /** What the OS says about the default network now. */
    private fun setDefaultNetwork(caps: NetworkCapabilities) = shadowOf(cm).setNetworkCapabilities(cm.activeNetwork, caps)

    @Test
    fun `current() reads online and metered from the default network's capabilities`() {
        setDefaultNetwork(caps(internet = true, unmetered = true))
        assertEquals(true to false, ConnectivityBridge.current(context), "Wi-Fi-like: online, not metered")
        setDefaultNetwork(caps(internet = true, unmetered = false))
        assertEquals(true to true, ConnectivityBridge.current(context), "cellular-like: online, metered")
        setDefaultNetwork(caps(internet = false, unmetered = true))
        assertEquals(false, ConnectivityBridge.current(context).first, "no internet capability: offline")
    }

    @Test
    fun `proxyUrl gives the OS's proxy as a URL, none for direct or PAC`() {
        assertEquals("http://proxy.corp.example:3128", ConnectivityBridge.proxyUrl(ProxyInfo.buildDirectProxy("proxy.corp.example", 3128)))
        assertEquals("http://[fd00::8]:8080", ConnectivityBridge.proxyUrl(ProxyInfo.buildDirectProxy("fd00::8", 8080)))
        assertEquals(null, ConnectivityBridge.proxyUrl(null as ProxyInfo?), "no proxy: direct")
        assertEquals(null, ConnectivityBridge.proxyUrl(ProxyInfo.buildPacProxy(Uri.parse("http://wpad.corp/wpad.dat"))), "PAC is not supported")
        assertEquals(null, ConnectivityBridge.proxyUrl(context), "Robolectric's network has no proxy")
    }

    @Test
    fun `network callbacks reach setHostNetwork(online, metered) of the real core`() = runTest(timeout = 90.seconds) {
        Emulator(20).use { emu ->
            openApp(emu, tmp.newFolder("mirror"), options = testOptions.copy(wifiOnly = true)).use { app ->
                app.status.first { it.icon == SyncIcon.CONNECTED && it.initialSyncComplete }
                setDefaultNetwork(caps(internet = true, unmetered = true))
                val bridge = ConnectivityBridge(context, app)
                bridge.start()
                bridge.start() // idempotent: one callback
                val callback = shadowOf(cm).networkCallbacks.single()
                val network = cm.activeNetwork!!

                // Cellular: metered, and the app syncs on Wi-Fi only.
                callback.onCapabilitiesChanged(network, caps(internet = true, unmetered = false))
                app.status.first { StatusWarning.WaitingForWifi in it.warnings }

                // Wi-Fi again: the wait is over.
                callback.onCapabilitiesChanged(network, caps(internet = true, unmetered = true))
                app.status.first { StatusWarning.WaitingForWifi !in it.warnings && it.icon == SyncIcon.CONNECTED }

                // The default network is gone: offline at once, no probe needed.
                callback.onLost(network)
                val lost = app.status.first { it.connectivity == Connectivity.Offline }
                assertEquals(SyncIcon.NOT_CONNECTED, lost.icon, "icon when the OS has no network")

                callback.onCapabilitiesChanged(network, caps(internet = true, unmetered = true))
                app.status.first { it.connectivity == Connectivity.Reachable && it.icon == SyncIcon.CONNECTED }

                bridge.close()
                assertTrue(shadowOf(cm).networkCallbacks.isEmpty(), "close() unregisters the callback")
                bridge.close() // idempotent
            }
        }
    }

    @Test
    fun `a callback after the Mooring was closed is ignored`() = runTest(timeout = 90.seconds) {
        Emulator(20).use { emu ->
            val app = openApp(emu, tmp.newFolder("mirror"), options = testOptions.copy(hostOnline = false))
            val bridge = ConnectivityBridge(context, app)
            bridge.start()
            app.close() // sign-out closes it; the bridge may still hear from the OS
            shadowOf(cm).networkCallbacks.single().onLost(cm.activeNetwork!!) // must not throw Closed
            bridge.close()
        }
    }
}
