// Rows into the app's @Serializable classes (kotlinx.serialization):
//   @Serializable data class Account(
//       val name: String,
//       @Contextual val createdon: Instant,
//       val revenue: Double? = null,
//   )
//   val accounts: List<Account> = app.queryAs(Query(table = "accounts", ...))
// Property names are column names (@SerialName to rename); a property with
// a default may be absent from the row; a nullable one may be null. The
// values go through RowReader, so a mismatch is the same RowTypeException
// naming the column (a SerializationException, as kotlinx's own errors).
// Instant, LocalDate, UUID and BigDecimal are @Contextual (their
// serializers are in [MooringSerializers]); enums match a choice's label
// or its value; a List<Long>/List<Int> takes a multi-select column's values.
package dev.mooring

import dev.mooring.ffi.Value
import java.math.BigDecimal
import java.time.Instant
import java.time.LocalDate
import java.util.UUID
import kotlinx.serialization.DeserializationStrategy
import kotlinx.serialization.ExperimentalSerializationApi
import kotlinx.serialization.KSerializer
import kotlinx.serialization.descriptors.PrimitiveKind
import kotlinx.serialization.descriptors.PrimitiveSerialDescriptor
import kotlinx.serialization.descriptors.SerialDescriptor
import kotlinx.serialization.descriptors.StructureKind
import kotlinx.serialization.encoding.AbstractDecoder
import kotlinx.serialization.encoding.CompositeDecoder
import kotlinx.serialization.encoding.Decoder
import kotlinx.serialization.encoding.Encoder
import kotlinx.serialization.modules.SerializersModule
import kotlinx.serialization.modules.contextual
import kotlinx.serialization.serializer

/** The serializers of the JVM types a row holds, for `@Contextual` properties. */
val MooringSerializers: SerializersModule = SerializersModule {
    contextual(InstantSerializer)
    contextual(LocalDateSerializer)
    contextual(UuidSerializer)
    contextual(BigDecimalSerializer)
}

/** This row as a [T] (see the file comment). */
inline fun <reified T> Row.decode(module: SerializersModule = MooringSerializers): T =
    decodeRow(module.serializer<T>(), this, module)

fun <T> decodeRow(strategy: DeserializationStrategy<T>, row: Row, module: SerializersModule = MooringSerializers): T =
    RowDecoder(row, module).decodeSerializableValue(strategy)

@OptIn(ExperimentalSerializationApi::class)
internal class RowDecoder(row: Row, override val serializersModule: SerializersModule) : AbstractDecoder() {
    private val reader = RowReader(row)
    private var index = 0
    private var column = ""
    private var started = false

    override fun beginStructure(descriptor: SerialDescriptor): CompositeDecoder {
        if (!started) {
            started = true
            return this
        }
        // A property that is a list: a multi-select column's option values.
        if (descriptor.kind == StructureKind.LIST) return ChoicesDecoder(column, reader.choices(column), serializersModule)
        throw RowTypeException(column, "a column value", "a nested ${descriptor.serialName} (a row is flat)")
    }

    override fun decodeElementIndex(descriptor: SerialDescriptor): Int {
        while (index < descriptor.elementsCount) {
            val i = index++
            val name = descriptor.getElementName(i)
            // Absent with a default: the default stays.
            if (name !in reader.row && descriptor.isElementOptional(i)) continue
            column = name
            return i
        }
        return CompositeDecoder.DECODE_DONE
    }

    override fun decodeNotNullMark(): Boolean = reader.has(column)
    override fun decodeNull(): Nothing? = null

    override fun decodeString(): String = when (val v = reader.row[column]) {
        // What other serializers built on text read (ISO dates, ids, labels).
        is Value.Lookup -> v.id
        is Value.DateTime -> Instant.ofEpochMilli(v.epochMillis).toString()
        is Value.Date -> v.toLocalDate().toString()
        is Value.Choice -> v.label ?: v.value.toString()
        else -> reader.string(column)
    }
    override fun decodeLong(): Long = reader.long(column)
    override fun decodeInt(): Int = reader.int(column)
    override fun decodeShort(): Short = narrow(reader.long(column), Short.MIN_VALUE.toLong(), Short.MAX_VALUE.toLong()).toShort()
    override fun decodeByte(): Byte = narrow(reader.long(column), Byte.MIN_VALUE.toLong(), Byte.MAX_VALUE.toLong()).toByte()
    override fun decodeDouble(): Double = reader.double(column)
    override fun decodeFloat(): Float = reader.double(column).toFloat()
    override fun decodeBoolean(): Boolean = reader.boolean(column)
    override fun decodeChar(): Char = reader.string(column).singleOrNull()
        ?: throw RowTypeException(column, "one character", "longer text")

    override fun decodeEnum(enumDescriptor: SerialDescriptor): Int {
        val c = reader.choiceOrNull(column)
        val names = (0 until enumDescriptor.elementsCount).map(enumDescriptor::getElementName)
        val i = when {
            c != null -> names.indexOfFirst { it == c.label || it == c.value.toString() }
            else -> names.indexOf(reader.string(column))
        }
        if (i < 0) throw RowTypeException(column, "one of ${enumDescriptor.serialName}'s ${names.size} names", c?.let { "choice ${it.value}" } ?: "other text")
        return i
    }

    // The JVM types' contextual serializers read the cell as it is, not through text.
    internal fun cell(): RowReader = reader
    internal fun currentColumn(): String = column

    private fun narrow(v: Long, min: Long, max: Long): Long =
        if (v in min..max) v else throw RowTypeException(column, "a number in $min..$max", "$v")
}

@OptIn(ExperimentalSerializationApi::class)
private class ChoicesDecoder(
    private val column: String,
    private val values: List<Choice>,
    override val serializersModule: SerializersModule,
) : AbstractDecoder() {
    private var i = -1
    // Element by element (decodeElementIndex moves [i]), never sequentially:
    // AbstractDecoder's element reads do not pass the index on.
    override fun decodeElementIndex(descriptor: SerialDescriptor): Int =
        if (++i < values.size) i else CompositeDecoder.DECODE_DONE
    override fun decodeLong(): Long = values[i].value
    override fun decodeInt(): Int = values[i].value.toInt()
    override fun decodeString(): String = values[i].let { it.label ?: it.value.toString() }
    override fun decodeNotNullMark(): Boolean = true
    override fun beginStructure(descriptor: SerialDescriptor): CompositeDecoder =
        throw RowTypeException(column, "option values", "a nested ${descriptor.serialName}")
}

/** A JVM type read from a row cell by [RowDecoder], or from ISO text by any other decoder. */
private abstract class CellSerializer<T : Any>(name: String, private val fromRow: (RowReader, String) -> T, private val parse: (String) -> T) :
    KSerializer<T> {
    override val descriptor: SerialDescriptor = PrimitiveSerialDescriptor("dev.mooring.$name", PrimitiveKind.STRING)
    override fun deserialize(decoder: Decoder): T =
        if (decoder is RowDecoder) fromRow(decoder.cell(), decoder.currentColumn()) else parse(decoder.decodeString())
    override fun serialize(encoder: Encoder, value: T) = encoder.encodeString(value.toString())
}

private object InstantSerializer : CellSerializer<Instant>("Instant", RowReader::instant, Instant::parse)
private object LocalDateSerializer : CellSerializer<LocalDate>("LocalDate", RowReader::localDate, LocalDate::parse)
private object UuidSerializer : CellSerializer<UUID>("UUID", RowReader::uuid, UUID::fromString)
private object BigDecimalSerializer : CellSerializer<BigDecimal>("BigDecimal", RowReader::decimal, ::BigDecimal)
