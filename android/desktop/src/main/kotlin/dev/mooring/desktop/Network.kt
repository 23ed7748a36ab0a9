// The player's network switch: what a phone's airplane mode does to the app,
// played against the emulator. Offline: the host network goes away
// (`setHostNetwork(false)`, what Android's ConnectivityBridge reports) and the
// emulator refuses connections (its admin API, devserver/README.md), so a
// request that slipped through would fail like on a real dead network.
//
// Over HTTP the emulator's refusal switches itself off after `for_ms` (no one
// could reach the switch otherwise), so while offline it is re-armed each
// time a window ends; going online stops re-arming and waits for the last
// window to end before telling the app the network is back.
package dev.mooring.desktop

import dev.mooring.Mooring
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** The emulator's admin API (`/admin/...`, same bearer token as the data API). */
class EmulatorAdmin(private val rootUrl: String, private val token: String) {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()

    fun post(path: String, body: String): String {
        val request = HttpRequest.newBuilder(URI.create("$rootUrl/admin/$path"))
            .header("Authorization", "Bearer $token")
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(5))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build()
        val r = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(r.statusCode() in 200..299) { "admin POST $path: HTTP ${r.statusCode()} ${r.body()}" }
        return r.body()
    }

    /** Accept and drop every connection for [ms]. */
    fun refuseConnections(ms: Long) = post("refuse-connections", """{"on": true, "for_ms": $ms}""")

    /** Delay every data answer by [ms] (the desktop script slows the first sync so the loading screen is seen). */
    fun latency(ms: Long) = post("latency", """{"ms": $ms}""")
}

enum class NetworkState { ONLINE, GOING_OFFLINE, OFFLINE, GOING_ONLINE }

class NetworkSwitch(
    private val mooring: Mooring,
    private val admin: EmulatorAdmin,
    private val scope: CoroutineScope,
    private val windowMs: Long = 3_000,
) {
    private val _state = MutableStateFlow(NetworkState.ONLINE)
    val state: StateFlow<NetworkState> = _state
    private var rearm: Job? = null
    @Volatile private var windowEndsAt = 0L

    fun toggle() = when (_state.value) {
        NetworkState.ONLINE -> goOffline()
        NetworkState.OFFLINE -> goOnline()
        else -> Unit // a switch in flight finishes first
    }

    fun goOffline() {
        if (_state.value != NetworkState.ONLINE) return
        _state.value = NetworkState.GOING_OFFLINE
        mooring.setHostNetwork(online = false)
        rearm = scope.launch(Dispatchers.IO) {
            while (isActive) {
                try {
                    admin.refuseConnections(windowMs)
                } catch (e: java.io.IOException) {
                    // Still refusing (clocks a little apart) or the emulator is gone: try again shortly.
                    System.err.println("player: could not re-arm the emulator's refusal: $e")
                    delay(200)
                    continue
                }
                windowEndsAt = System.currentTimeMillis() + windowMs
                _state.value = NetworkState.OFFLINE
                // Re-arm just after the window ends: the first request it accepts is this one.
                delay(windowMs + 50)
            }
        }
    }

    fun goOnline() {
        if (_state.value != NetworkState.OFFLINE) return
        _state.value = NetworkState.GOING_ONLINE
        scope.launch {
            // Join: a re-arm request in flight still lands and moves the window's end.
            rearm?.cancelAndJoin()
            rearm = null
            withContext(Dispatchers.IO) { delay((windowEndsAt - System.currentTimeMillis() + 100).coerceAtLeast(0)) }
            mooring.setHostNetwork(online = true)
            _state.value = NetworkState.ONLINE
        }
    }
}
