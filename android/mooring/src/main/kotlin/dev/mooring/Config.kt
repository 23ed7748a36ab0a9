// What `Mooring.open` takes besides the server and the account: the offline
// profile, the host's token and key providers, and tuning knobs.
// Pure Kotlin (no android.*): compiled and tested on the JVM by scripts/test-kotlin.
package dev.mooring

import dev.mooring.ffi.CanvasAppProfile
import dev.mooring.ffi.profileFromCanvasApp
import java.io.File
import kotlin.time.Duration

/**
 * Which tables, columns and rows the phone keeps (docs/profile.md): a profile,
 * an app manifest to generate it from, or a canvas app whose formulas say.
 */
class OfflineProfile private constructor(
    internal val profileJson: String?,
    internal val manifestJson: String?,
    /** For [fromCanvasApp]: what the app's formulas need and why (tables, warnings, the explanation text); else null. */
    val canvasApp: CanvasAppProfile? = null,
) {
    companion object {
        fun profile(json: String) = OfflineProfile(json, null)
        fun manifest(json: String) = OfflineProfile(null, json)

        /**
         * The profile generated from a canvas app's own source at [path]: a
         * `pac canvas unpack` folder, a `.msapp` file or a Power Apps YAML v3
         * folder (docs/profile.md, "From a canvas app's own source"). Reads
         * files only, in well under a second: call it off the main thread.
         * A source that cannot be read or does not parse throws
         * `MooringException.CanvasApp` with its `file`, `line` and `column`.
         */
        fun fromCanvasApp(path: String): OfflineProfile {
            val generated = profileFromCanvasApp(path)
            return OfflineProfile(generated.profileJson, null, generated)
        }

        /** [fromCanvasApp] of a [File]. */
        fun fromCanvasApp(path: File): OfflineProfile = fromCanvasApp(path.path)
    }
}

/**
 * The host's access tokens: a `suspend fun`, as MSAL's `acquireTokenSilent`
 * is, so waiting for a refresh holds no thread. It runs on
 * `Dispatchers.Default`; wrap blocking calls in `withContext(Dispatchers.IO)`.
 * [forceRefresh]: the last token was refused, skip the cache; Mooring asks for
 * one refresh at a time however many requests met the refused token, and
 * gives up on an answer that takes over 60 s (asking again at the next sync).
 * Throw to say "no token" (the status shows "Sign in again"); the exception's
 * message is not passed on, so it cannot leak a token.
 */
fun interface AccessTokenProvider {
    suspend fun token(forceRefresh: Boolean): String
}

/**
 * The database key for [account], called once per open on an IO thread. On
 * Android, `KeystoreKeyProvider` (a random key wrapped by a Keystore key).
 * The same account must get the same key every time, or open throws
 * `MooringException.WrongKey`.
 */
fun interface EncryptionKeyProvider {
    fun key(account: String): String
}

/** Everything optional; the defaults are what an app wants. */
data class MooringOptions(
    /** The OS's network state at open; then [Mooring.setHostNetwork] (Android: `ConnectivityBridge`). */
    val hostOnline: Boolean = true,
    val metered: Boolean = false,
    /** Sync on unmetered networks only. */
    val wifiOnly: Boolean = false,
    /** Overrides every table's delta interval (default: the profile's). */
    val deltaInterval: Duration? = null,
    /** While idle and reachable, re-check the server this often (default 60 s). */
    val probeInterval: Duration? = null,
    /** Upload this long after the last local write (default 2 s). */
    val uploadDebounce: Duration? = null,
    /** First backoff after a failed sync, doubling up to [retryCap] (defaults 5 s and 5 min). */
    val retryBase: Duration? = null,
    val retryCap: Duration? = null,
    /** Rows per page of the initial sync, 1..5000 (default 5000). */
    val pageSize: Int? = null,
    /**
     * PEM root certificates to trust beside the built-in ones (a company CA that
     * MDM installs), for sync and the connectivity probe alike. An untrusted
     * server is `MooringException.Tls`, never retried.
     */
    val extraRootsPem: String? = null,
    /**
     * The OS's HTTP proxy (`http://host:port`; credentials as
     * `http://user:password@host:port`) for sync and the probe; loopback never
     * goes through it. Android keeps it in its settings, not in environment
     * variables: pass `ConnectivityBridge.proxyUrl(context)`. Read at open.
     */
    val proxyUrl: String? = null,
)
