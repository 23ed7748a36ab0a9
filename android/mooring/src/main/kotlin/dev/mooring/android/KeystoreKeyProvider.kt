// The database key on Android: 32 random bytes per account, stored in
// app-private SharedPreferences encrypted (AES-GCM) by a non-exportable
// Android Keystore key. The raw key never touches disk; the Keystore key never
// leaves the secure hardware where the device has it.
package dev.mooring.android

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import dev.mooring.EncryptionKeyProvider
import java.security.KeyStore
import java.security.MessageDigest
import java.security.SecureRandom
import java.util.Base64
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * Exclude [PREFS] from Auto Backup (the sample's `backup_rules.xml`): a
 * wrapped key restored on another device cannot be unwrapped there, and the
 * mirror is re-downloaded anyway. If unwrapping fails (Keystore wiped), [key]
 * throws; `Mooring.open` turns that into `MooringException.Storage`, and the
 * app then deletes the data folder and opens again (a fresh sync).
 *
 * [wrappingKey] is the seam for the JVM tests: Robolectric has no
 * AndroidKeyStore provider, so they pass a software AES key in its place.
 * Apps use the public constructor, whose key lives in the Android Keystore.
 */
class KeystoreKeyProvider internal constructor(
    context: Context,
    private val wrappingKey: () -> SecretKey,
) : EncryptionKeyProvider {
    constructor(context: Context, keyAlias: String = DEFAULT_ALIAS) : this(context, { androidKeystoreKey(keyAlias) })

    companion object {
        const val PREFS = "dev.mooring.keys"
        const val DEFAULT_ALIAS = "dev.mooring.database-key-wrapper"
        private const val TRANSFORMATION = "AES/GCM/NoPadding"

        /** The non-exportable AES key [alias] in the Android Keystore, made on first use. Device only. */
        private fun androidKeystoreKey(alias: String): SecretKey {
            val store = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
            (store.getKey(alias, null) as? SecretKey)?.let { return it }
            val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build()
            return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
                .apply { init(spec) }
                .generateKey()
        }
    }

    private val prefs = context.applicationContext.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    @Synchronized
    override fun key(account: String): String {
        // The account id hashed: no user name in clear in the prefs file either.
        val name = "key." + sha256Hex(account)
        prefs.getString(name, null)?.let { return unwrap(it) }
        val raw = ByteArray(32).also { SecureRandom().nextBytes(it) }
        val key = raw.joinToString("") { "%02x".format(it) }
        check(prefs.edit().putString(name, wrap(key.toByteArray())).commit()) { "could not store the wrapped key" }
        return key
    }

    private fun wrap(plain: ByteArray): String {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, wrappingKey()) // the provider picks the IV
        val b64 = Base64.getEncoder()
        return b64.encodeToString(cipher.iv) + ":" + b64.encodeToString(cipher.doFinal(plain))
    }

    private fun unwrap(stored: String): String {
        val (iv, body) = stored.split(':', limit = 2).map { Base64.getDecoder().decode(it) }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(128, iv))
        return String(cipher.doFinal(body))
    }

    private fun sha256Hex(s: String): String =
        MessageDigest.getInstance("SHA-256").digest(s.toByteArray()).joinToString("") { "%02x".format(it) }
}
