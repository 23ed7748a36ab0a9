// The background-sync step (what SyncWorker.doWork runs) under Robolectric,
// with the app's Application a MooringHost over a real Mooring on the
// emulator, paused as the sample app pauses it in onStop (issue 13, defect 1).
package dev.mooring.android

import android.app.Application
import android.content.Context
import dev.mooring.Emulator
import dev.mooring.Mooring
import dev.mooring.ffi.MooringException
import dev.mooring.ffi.SyncIcon
import dev.mooring.openApp
import dev.mooring.text
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.test.runTest
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config

/** The app's Application as SyncWorker finds it (the sample's SampleApp, without the UI). */
class HostApp : Application(), MooringHost {
    var instance: Mooring? = null
    override val syncLifecycle = SyncLifecycle()
    override suspend fun mooring(): Mooring? = instance
}

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = HostApp::class)
class BackgroundSyncTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val host: HostApp get() = RuntimeEnvironment.getApplication() as HostApp

    private suspend fun assertPaused(app: Mooring, what: String) {
        // The typed reason, not an "offline" standing for everything.
        assertFailsWith<MooringException.Paused>(what) { app.syncNow() }
    }

    /** Opens a synced app, hands it to the host, and sends the app to the background (onStop). */
    private suspend fun backgroundedApp(emu: Emulator): Mooring {
        val app = openApp(emu, tmp.newFolder("mirror"))
        app.status.first { it.icon == SyncIcon.CONNECTED && it.initialSyncComplete }
        host.instance = app
        host.syncLifecycle.attach(app)
        host.syncLifecycle.setForeground(true) // onStart
        host.syncLifecycle.setForeground(false) // onStop
        return app
    }

    @Test
    fun `a run syncs a backgrounded app, then leaves it paused`() = runTest(timeout = 90.seconds) {
        Emulator(20).use { emu ->
            backgroundedApp(emu).use { app ->
                // What every run hit before the fix: a paused app refuses syncNow.
                assertPaused(app, "syncNow in the background")
                val id = emu.createOnServer("accounts", """{"name": "KT written on the server"}""")

                assertEquals(BackgroundSyncResult.SUCCESS, backgroundSync(context), "the worker's run")
                assertEquals("KT written on the server", app.get("accounts", id)?.text("name"), "the run synced the new row")
                assertPaused(app, "after the run, still in the background")
            }
        }
    }

    @Test
    fun `the app coming to the foreground during a run stays resumed after it`() = runTest(timeout = 90.seconds) {
        Emulator(20).use { emu ->
            backgroundedApp(emu).use { app ->
                host.syncLifecycle.whileRunning { host.syncLifecycle.setForeground(true) }
                app.syncNow() // not paused
                host.syncLifecycle.setForeground(false)
                assertPaused(app, "background again")
            }
        }
    }

    @Test
    fun `offline asks WorkManager to retry, signed out is a success with nothing to do`() = runTest(timeout = 90.seconds) {
        Emulator(20).use { emu ->
            backgroundedApp(emu).use { app ->
                app.setHostNetwork(online = false)
                assertEquals(BackgroundSyncResult.RETRY, backgroundSync(context), "offline")
                host.instance = null
                assertEquals(BackgroundSyncResult.SUCCESS, backgroundSync(context), "signed out")
            }
        }
    }

    @Test
    @Config(application = Application::class)
    fun `an Application that is not a MooringHost is a failure`() = runTest {
        assertEquals(BackgroundSyncResult.FAILURE, backgroundSync(context))
    }
}
