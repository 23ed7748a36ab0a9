// Kotlin values in, typed values out: `mapOf("name" to "Contoso")` for
// writes, `row.text("name")` for quick reads, [RowReader] (`row.string(...)`,
// `row.instant(...)`) for strict mapping into the app's own classes.
package dev.mooring

import dev.mooring.ffi.ChoiceValue
import dev.mooring.ffi.SqlRows
import dev.mooring.ffi.Value
import java.math.BigDecimal
import java.time.Instant
import java.time.LocalDate
import java.util.UUID

/** One row: column logical name to value, key column included (`accountid`). */
typealias Row = Map<String, Value>

/**
 * Converts a Kotlin value for a write: String, Int/Long/Short/Byte, Double/Float,
 * BigDecimal, Boolean, [Instant], [LocalDate], [UUID], a [Choice] (its value), a
 * [Lookup] (its id), a collection of [Choice]s or numbers (a multi-select column), null, or a [Value]
 * as is. Anything else is a programming error.
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
    is BigDecimal -> Value.Real(v.toDouble())
    is Instant -> Value.DateTime(v.toEpochMilli())
    is LocalDate -> Value.Date(v.year, v.monthValue.toUByte(), v.dayOfMonth.toUByte())
    is UUID -> Value.Guid(v.toString())
    is Choice -> Value.Choice(v.value, v.label)
    is Lookup -> Value.Lookup(v.id, v.table, v.name)
    is Collection<*> -> Value.Choices(v.map { choiceOf(it) })
    else -> throw IllegalArgumentException("no Mooring value for a ${v::class.simpleName}")
}

private fun choiceOf(v: Any?): ChoiceValue = when (v) {
    is Choice -> ChoiceValue(v.value, v.label)
    is Number -> ChoiceValue(v.toLong(), null)
    else -> throw IllegalArgumentException("a multi-select value holds choices or numbers, not ${v?.let { it::class.simpleName }}")
}

internal fun toValues(values: Map<String, Any?>): Map<String, Value> = values.mapValues { valueOf(it.value) }

/** A choice column's value and its label in the user's language (null when the server gave none). */
data class Choice(val value: Long, val label: String? = null) {
    override fun toString(): String = label ?: value.toString()
}

/** A lookup: the related row's id, the profile table that holds it and its primary name, when the mirror has them. */
data class Lookup(val id: String, val table: String? = null, val name: String? = null)

/** Text; ids of GUID and lookup columns; date-times as ISO-8601. Null when null, absent or of another kind. */
fun Row.text(column: String): String? = when (val v = this[column]) {
    is Value.Text -> v.value
    is Value.Guid -> v.value
    is Value.Lookup -> v.id
    is Value.DateTime -> Instant.ofEpochMilli(v.epochMillis).toString()
    is Value.Date -> v.toLocalDate().toString()
    else -> null
}

/** Whole numbers, choices (the option value) and booleans (0/1). */
fun Row.long(column: String): Long? = when (val v = this[column]) {
    is Value.Integer -> v.value
    is Value.Choice -> v.value
    is Value.Bool -> if (v.value) 1L else 0L
    else -> null
}

fun Row.double(column: String): Double? = when (val v = this[column]) {
    is Value.Real -> v.value
    is Value.Integer -> v.value.toDouble()
    else -> null
}

/** Boolean columns (SQL reads give them as 0/1). */
fun Row.bool(column: String): Boolean? = when (val v = this[column]) {
    is Value.Bool -> v.value
    is Value.Integer -> v.value != 0L
    else -> null
}

internal fun Value.Date.toLocalDate(): LocalDate = LocalDate.of(year, month.toInt(), day.toInt())

/** Each row of a SQL read as column name to value (a later column of the same name wins: alias them apart). */
fun SqlRows.rowMaps(): List<Row> = rows.map { values -> columns.zip(values).toMap() }
