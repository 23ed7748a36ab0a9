// KeystoreKeyProvider on the real Android framework (SharedPreferences,
// Context) under Robolectric. Robolectric has no AndroidKeyStore provider, so
// the wrapping key is a software AES key standing in for the Keystore's; the
// Keystore call itself (androidKeystoreKey) runs on a device only.
package dev.mooring.android

import android.content.Context
import dev.mooring.Mooring
import dev.mooring.OfflineProfile
import dev.mooring.PROFILE
import dev.mooring.ffi.MooringException
import dev.mooring.testOptions
import java.io.File
import javax.crypto.AEADBadTagException
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.test.runTest
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class KeystoreKeyProviderTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private val context: Context get() = RuntimeEnvironment.getApplication()

    /** Stands in for the Android Keystore's non-exportable key (not available under Robolectric). */
    private fun softwareWrappingKey(): SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    private fun prefsText(): String =
        context.getSharedPreferences(KeystoreKeyProvider.PREFS, Context.MODE_PRIVATE).all.toString()

    @Test
    fun `one random key per account, the same on every call and after a restart`() {
        val wrapping = softwareWrappingKey()
        val provider = KeystoreKeyProvider(context) { wrapping }
        val a = provider.key("alice@contoso.test")
        assertTrue(Regex("[0-9a-f]{64}").matches(a), "32 random bytes in hex: $a")
        assertEquals(a, provider.key("alice@contoso.test"), "same account, same key")
        assertNotEquals(a, provider.key("bob@contoso.test"), "another account, another key")
        // A new process: a new provider over the same preferences and Keystore key.
        assertEquals(a, KeystoreKeyProvider(context) { wrapping }.key("alice@contoso.test"), "after a restart")
    }

    @Test
    fun `the preferences hold neither the key nor the account in clear`() {
        val wrapping = softwareWrappingKey()
        val key = KeystoreKeyProvider(context) { wrapping }.key("alice@contoso.test")
        val stored = prefsText()
        assertTrue(stored.isNotEmpty() && stored != "{}", "something stored: $stored")
        assertTrue(!stored.contains(key), "raw key in the preferences: $stored")
        assertTrue(!stored.contains("alice"), "account name in the preferences: $stored")
    }

    @Test
    fun `a lost Keystore key fails to unwrap, and open() says Storage`() = runTest(timeout = 60.seconds) {
        val wrapping = softwareWrappingKey()
        KeystoreKeyProvider(context) { wrapping }.key("alice@contoso.test")
        // The Keystore was wiped (a new key under the alias): the stored key cannot be unwrapped.
        val wiped = KeystoreKeyProvider(context, ::softwareWrappingKey)
        assertFailsWith<AEADBadTagException> { wiped.key("alice@contoso.test") }
        val e = assertFailsWith<MooringException.Storage> {
            Mooring.open(
                serverUrl = "http://127.0.0.1:9", dataDir = tmp.newFolder("mirror"), account = "alice@contoso.test",
                profile = OfflineProfile.profile(PROFILE), tokens = { "unused" }, encryptionKey = wiped,
                options = testOptions.copy(hostOnline = false),
            )
        }
        assertTrue(e.reason.contains("AEADBadTagException"), e.reason)
    }

    @Test
    fun `its key opens an encrypted mirror, and the same key after a restart reopens it`() = runTest(timeout = 60.seconds) {
        val wrapping = softwareWrappingKey()
        val dir = tmp.newFolder("mirror")
        suspend fun open(provider: KeystoreKeyProvider) = Mooring.open(
            serverUrl = "http://127.0.0.1:9", dataDir = dir, account = "alice@contoso.test",
            profile = OfflineProfile.profile(PROFILE), tokens = { "unused" }, encryptionKey = provider,
            options = testOptions.copy(hostOnline = false),
        )
        open(KeystoreKeyProvider(context) { wrapping }).close()
        val db: File = dir.listFiles()!!.first { it.name.endsWith(".db") }
        assertTrue(!db.readBytes().copyOfRange(0, 16).decodeToString().startsWith("SQLite format 3"), "the file is encrypted")
        open(KeystoreKeyProvider(context) { wrapping }).close() // same prefs + Keystore key: same database key
        // Preferences cleared (app data wiped but the mirror left): a new random key, which the file refuses.
        context.getSharedPreferences(KeystoreKeyProvider.PREFS, Context.MODE_PRIVATE).edit().clear().commit()
        assertFailsWith<MooringException.WrongKey> { open(KeystoreKeyProvider(context) { wrapping }) }
    }
}
