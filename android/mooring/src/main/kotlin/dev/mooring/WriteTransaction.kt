// The writes of one Mooring.writeTransaction { }: collected here, then
// applied by the core in one SQLite transaction and uploaded as one
// `$batch` change set. Pure Kotlin, tested on the JVM by scripts/test-kotlin.
package dev.mooring

import dev.mooring.ffi.WriteOp
import java.util.UUID

class WriteTransaction internal constructor() {
    internal val ops = mutableListOf<WriteOp>()

    /** Creates a row from Kotlin values (see [valueOf]); returns its new GUID, usable in later writes. */
    fun create(table: String, values: Map<String, Any?>): String {
        val id = UUID.randomUUID().toString()
        ops += WriteOp.Create(table, id, toValues(values))
        return id
    }

    fun update(table: String, id: String, values: Map<String, Any?>) {
        ops += WriteOp.Update(table, id, toValues(values))
    }

    fun delete(table: String, id: String) {
        ops += WriteOp.Delete(table, id)
    }
}
