// Opens Mooring once per process (encrypted with the Keystore-backed key),
// bridges connectivity and the app's foreground/background to it, and
// schedules the periodic sync worker.
package dev.mooring.sample

import android.app.Application
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import dev.mooring.Mooring
import dev.mooring.MooringOptions
import dev.mooring.OfflineProfile
import dev.mooring.android.ConnectivityBridge
import dev.mooring.android.KeystoreKeyProvider
import dev.mooring.android.MooringHost
import dev.mooring.android.SyncLifecycle
import dev.mooring.android.SyncWorker
import java.io.File
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

class SampleApp : Application(), MooringHost {
    private val lock = Mutex()
    private var instance: Mooring? = null
    private var bridge: ConnectivityBridge? = null

    // Pauses sync in the background, except while SyncWorker runs (it resumes
    // through here for its run; pausing in onStop directly refused its sync).
    override val syncLifecycle = SyncLifecycle()

    override fun onCreate() {
        super.onCreate()
        Mooring.initLogging("info")
        SyncWorker.schedule(this)
        ProcessLifecycleOwner.get().lifecycle.addObserver(object : DefaultLifecycleObserver {
            override fun onStart(owner: LifecycleOwner) = syncLifecycle.setForeground(true)
            override fun onStop(owner: LifecycleOwner) = syncLifecycle.setForeground(false)
        })
    }

    override suspend fun mooring(): Mooring = lock.withLock {
        instance ?: run {
            val (online, metered) = ConnectivityBridge.current(this)
            val m = Mooring.open(
                serverUrl = BuildConfig.MOORING_SERVER_URL,
                dataDir = File(filesDir, "mooring"),
                // A real app: MSAL's home account id; tokens from MSAL's acquireTokenSilent.
                account = "dev-user",
                profile = OfflineProfile.profile(SAMPLE_PROFILE),
                tokens = { BuildConfig.MOORING_DEV_TOKEN },
                encryptionKey = KeystoreKeyProvider(this),
                options = MooringOptions(hostOnline = online, metered = metered),
            )
            bridge = ConnectivityBridge(this, m).also { it.start() }
            syncLifecycle.attach(m) // paused at once if the worker opened it in the background
            instance = m
            m
        }
    }
}
