// Strict, typed reads of one row for mapping it into the app's own classes:
//   app.query(q) { row -> Account(row.string("name"), row.instant("createdon")) }
// A column that is absent, null (for the non-null accessors) or of another
// kind throws RowTypeException naming the column and what it held: a typed
// error the app can catch, never a ClassCastException.
// SQL reads give SQLite's kinds (text, numbers): the accessors accept those
// forms of each type too (ISO-8601 text for instants, 0/1 for booleans).
package dev.mooring

import dev.mooring.ffi.Value
import java.math.BigDecimal
import java.time.Instant
import java.time.LocalDate
import java.time.format.DateTimeParseException
import java.util.UUID
import kotlinx.serialization.SerializationException

/** A row's column held something its accessor cannot give: [column], what was [expected], what it [found]. */
class RowTypeException(val column: String, val expected: String, val found: String) :
    SerializationException("column $column: expected $expected, found $found")

/** The typed accessors over one [Row]; see the file comment. */
class RowReader(val row: Row) {
    fun has(column: String): Boolean = row[column].let { it != null && it !is Value.Null }

    fun string(column: String): String = need(column, "text", stringOrNull(column))
    fun stringOrNull(column: String): String? = read(column, "text") {
        when (it) {
            is Value.Text -> it.value
            is Value.Guid -> it.value
            else -> null
        }
    }

    fun long(column: String): Long = need(column, "a whole number", longOrNull(column))
    fun longOrNull(column: String): Long? = read(column, "a whole number") {
        when (it) {
            is Value.Integer -> it.value
            is Value.Choice -> it.value
            else -> null
        }
    }

    fun int(column: String): Int = need(column, "a 32-bit whole number", intOrNull(column))
    fun intOrNull(column: String): Int? = longOrNull(column)?.let { l ->
        if (l in Int.MIN_VALUE..Int.MAX_VALUE) l.toInt() else throw mismatch(column, "a 32-bit whole number", "$l")
    }

    fun double(column: String): Double = need(column, "a number", doubleOrNull(column))
    fun doubleOrNull(column: String): Double? = read(column, "a number") {
        when (it) {
            is Value.Real -> it.value
            is Value.Integer -> it.value.toDouble()
            else -> null
        }
    }

    /** Decimal and money columns (Dataverse money has 4 decimals; the mirror holds a double). */
    fun decimal(column: String): BigDecimal = need(column, "a decimal", decimalOrNull(column))
    fun decimalOrNull(column: String): BigDecimal? = read(column, "a decimal") {
        when (it) {
            is Value.Real -> BigDecimal.valueOf(it.value)
            is Value.Integer -> BigDecimal.valueOf(it.value)
            else -> null
        }
    }

    fun boolean(column: String): Boolean = need(column, "a boolean", booleanOrNull(column))
    fun booleanOrNull(column: String): Boolean? = read(column, "a boolean") {
        when (it) {
            is Value.Bool -> it.value
            is Value.Integer -> if (it.value == 0L || it.value == 1L) it.value == 1L else null
            else -> null
        }
    }

    /** Date-time columns; ISO-8601 text from SQL reads. */
    fun instant(column: String): Instant = need(column, "a date-time", instantOrNull(column))
    fun instantOrNull(column: String): Instant? = read(column, "a date-time") {
        when (it) {
            is Value.DateTime -> Instant.ofEpochMilli(it.epochMillis)
            is Value.Text -> parse { Instant.parse(it.value) }
            else -> null
        }
    }

    /** Date-only columns; `2024-05-01` text from SQL reads. */
    fun localDate(column: String): LocalDate = need(column, "a date", localDateOrNull(column))
    fun localDateOrNull(column: String): LocalDate? = read(column, "a date") {
        when (it) {
            is Value.Date -> it.toLocalDate()
            is Value.Text -> parse { LocalDate.parse(it.value) }
            else -> null
        }
    }

    fun choice(column: String): Choice = need(column, "a choice", choiceOrNull(column))
    fun choiceOrNull(column: String): Choice? = read(column, "a choice") {
        when (it) {
            is Value.Choice -> Choice(it.value, it.label)
            is Value.Integer -> Choice(it.value)
            else -> null
        }
    }

    /** A multi-select column; an empty list when none is selected or the value is null. */
    fun choices(column: String): List<Choice> = read(column, "choices") {
        when (it) {
            is Value.Choices -> it.values.map { c -> Choice(c.value, c.label) }
            is Value.Text -> parse { it.value.split(',').filter(String::isNotBlank).map { p -> Choice(p.trim().toLong()) } }
            else -> null
        }
    } ?: emptyList()

    fun uuid(column: String): UUID = need(column, "a GUID", uuidOrNull(column))
    fun uuidOrNull(column: String): UUID? = read(column, "a GUID") {
        when (it) {
            is Value.Guid -> parse { UUID.fromString(it.value) }
            is Value.Lookup -> parse { UUID.fromString(it.id) }
            is Value.Text -> parse { UUID.fromString(it.value) }
            else -> null
        }
    }

    fun lookup(column: String): Lookup = need(column, "a lookup", lookupOrNull(column))
    fun lookupOrNull(column: String): Lookup? = read(column, "a lookup") {
        when (it) {
            is Value.Lookup -> Lookup(it.id, it.table, it.name)
            is Value.Text -> Lookup(it.value)
            else -> null
        }
    }

    private fun <T> need(column: String, expected: String, v: T?): T =
        v ?: throw mismatch(column, expected, if (column in row) "null" else "no such column")

    /** Null for absent or null; [convert]'s null means "another kind": a mismatch. */
    private inline fun <T> read(column: String, expected: String, convert: (Value) -> T?): T? {
        val v = row[column] ?: return null
        if (v is Value.Null) return null
        return convert(v) ?: throw mismatch(column, expected, describe(v))
    }

    private inline fun <T> parse(block: () -> T): T? = try {
        block()
    } catch (_: DateTimeParseException) {
        null
    } catch (_: IllegalArgumentException) {
        null
    }

    private fun mismatch(column: String, expected: String, found: String) = RowTypeException(column, expected, found)
}

/** What a value is, for error messages (never the value of a text: it may be personal data). */
internal fun describe(v: Value): String = when (v) {
    is Value.Null -> "null"
    is Value.Integer -> "a whole number"
    is Value.Real -> "a number"
    is Value.Text -> "text"
    is Value.Bool -> "a boolean"
    is Value.DateTime -> "a date-time"
    is Value.Date -> "a date"
    is Value.Choice -> "a choice"
    is Value.Choices -> "choices"
    is Value.Guid -> "a GUID"
    is Value.Lookup -> "a lookup"
}

/** This row's typed accessors. */
val Row.reader: RowReader get() = RowReader(this)
