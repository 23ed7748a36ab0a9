// Kotlin values in, typed values out: `mapOf("name" to "Contoso")` for
// writes, `row.text("name")` for reads, without `Value.Text(...)` noise.
package dev.mooring

import dev.mooring.ffi.SqlRows
import dev.mooring.ffi.Value

/** One row: column logical name to value, key column included (`accountid`). */
typealias Row = Map<String, Value>

/**
 * Converts a Kotlin value for a write: String, Int/Long/Short/Byte, Double/Float,
 * Boolean, null, or a [Value] as is. Anything else is a programming error.
 */
fun valueOf(v: Any?): Value = when (v) {
    null -> Value.Null
    is Value -> v
    is String -> Value.Text(v)
    is Boolean -> Value.Bool(v)
    is Int -> Value.Integer(v.toLong())
    is Long -> Value.Integer(v)
    is Short -> Value.Integer(v.toLong())
    is Byte -> Value.Integer(v.toLong())
    is Double -> Value.Real(v)
    is Float -> Value.Real(v.toDouble())
    else -> throw IllegalArgumentException("no Mooring value for a ${v::class.simpleName}")
}

internal fun toValues(values: Map<String, Any?>): Map<String, Value> = values.mapValues { valueOf(it.value) }

/** Text columns, dates (ISO-8601) and lookups (the target's GUID); null when null or absent. */
fun Row.text(column: String): String? = (this[column] as? Value.Text)?.value

/** Whole numbers, option sets (the option value) and booleans (0/1). */
fun Row.long(column: String): Long? = (this[column] as? Value.Integer)?.value

fun Row.double(column: String): Double? = when (val v = this[column]) {
    is Value.Real -> v.value
    is Value.Integer -> v.value.toDouble()
    else -> null
}

/** Booleans are stored as 0/1. */
fun Row.bool(column: String): Boolean? = when (val v = this[column]) {
    is Value.Bool -> v.value
    is Value.Integer -> v.value != 0L
    else -> null
}

/** Each row of a SQL read as column name to value (a later column of the same name wins: alias them apart). */
fun SqlRows.rowMaps(): List<Row> = rows.map { values -> columns.zip(values).toMap() }
