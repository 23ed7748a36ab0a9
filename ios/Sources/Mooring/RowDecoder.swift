// Rows into the app's own Decodable types:
//   struct Account: Decodable {
//       let accountid: UUID
//       let name: String
//       let createdon: Date
//       let revenue: Decimal?
//   }
//   let accounts = try await client.query(query, as: Account.self)
// Property names are column names (CodingKeys to rename). An Optional
// property may be null or absent. Each column type decodes as its Swift
// type: Bool, Int/Int64, Double/Decimal, Date (instants), DateComponents
// (date-only columns), UUID, `Choice` (or an enum whose raw value is the
// option's label or value), `[Choice]`/`[Int]` (multi-select), `Lookup`
// (or the related id as String/UUID). SQL reads give SQLite's kinds: text
// in ISO-8601 decodes as Date, 0/1 as Bool. A column of another kind throws
// `DecodingError.typeMismatch` whose coding path names the column; its
// description says what was found, never the value.
import Foundation

/// A choice column's value with its label in the user's language (nil when
/// the server gave none).
public struct Choice: Hashable, Sendable, Decodable {
    public let value: Int64
    public let label: String?

    public init(value: Int64, label: String? = nil) {
        self.value = value
        self.label = label
    }

    /// Only from a row (`RowDecoder`): elsewhere `{"value": 1, "label": "Hot"}`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        value = try c.decode(Int64.self, forKey: .value)
        label = try c.decodeIfPresent(String.self, forKey: .label)
    }

    private enum Keys: String, CodingKey { case value, label }
}

/// A lookup: the related row's id, the profile table holding it and its
/// primary name, when the mirror has them.
public struct Lookup: Hashable, Sendable, Decodable {
    public let id: String
    public let table: String?
    public let name: String?

    public init(id: String, table: String? = nil, name: String? = nil) {
        self.id = id
        self.table = table
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        id = try c.decode(String.self, forKey: .id)
        table = try c.decodeIfPresent(String.self, forKey: .table)
        name = try c.decodeIfPresent(String.self, forKey: .name)
    }

    private enum Keys: String, CodingKey { case id, table, name }
}

/// Decodes rows (`[String: Value]`) into Decodable types.
public struct RowDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from row: [String: Value]) throws -> T {
        try T(from: RowDecoding(row: row))
    }

    /// A SQL read's rows (a later column of the same name wins: alias them apart).
    public func decode<T: Decodable>(_ type: T.Type, from rows: SqlRows) throws -> [T] {
        try rows.rows.map { values in
            try decode(type, from: Dictionary(zip(rows.columns, values), uniquingKeysWith: { _, last in last }))
        }
    }
}

extension MooringClient {
    /// `query` decoded: `try await client.query(q, as: Account.self)`.
    public func query<T: Decodable>(_ query: Query, as type: T.Type) async throws -> [T] {
        let decoder = RowDecoder()
        return try await self.query(query).map { try decoder.decode(type, from: $0) }
    }

    /// `get` decoded; nil when there is no such row.
    public func get<T: Decodable>(_ table: String, id: String, as type: T.Type) async throws -> T? {
        try await get(table, id: id).map { try RowDecoder().decode(type, from: $0) }
    }

    /// `sql` decoded (SQLite's kinds: see the file comment).
    public func sql<T: Decodable>(_ sql: String, _ params: [Value] = [], as type: T.Type) async throws -> [T] {
        try RowDecoder().decode(type, from: try await self.sql(sql, params))
    }

    /// `rows` decoded: the current result first, then each change. A row
    /// that does not decode ends the stream with the error.
    public func rows<T: Decodable & Sendable>(_ query: Query, as type: T.Type) -> AsyncThrowingStream<[T], any Error> {
        let source = rows(query)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let decoder = RowDecoder()
                    for try await rows in source {
                        continuation.yield(try rows.map { try decoder.decode(type, from: $0) })
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// What a cell is, for error messages (never its value: it may be personal data).
func describe(_ v: Value) -> String {
    switch v {
    case .null: return "null"
    case .integer: return "a whole number"
    case .real: return "a number"
    case .text: return "text"
    case .bool: return "a boolean"
    case .dateTime: return "a date-time"
    case .date: return "a date"
    case .choice: return "a choice"
    case .choices: return "choices"
    case .guid: return "a GUID"
    case .lookup: return "a lookup"
    }
}

private struct RowDecoding: Decoder {
    let row: [String: Value]
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a row is keyed by column names"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Value.self, .init(codingPath: [], debugDescription: "a row is keyed by column names"))
    }
}

private struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let row: [String: Value]
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { row.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { row[key.stringValue] != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        switch row[key.stringValue] {
        case nil, .null?: return true
        default: return false
        }
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try Cell(key: key, value: try present(key, type)).decode(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw mismatch(key, [String: Any].self, "a nested object (a row is flat)")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        ChoicesContainer(key: key, values: try Cell(key: key, value: try present(key, [Int64].self)).choices())
    }

    func superDecoder() throws -> any Decoder { RowDecoding(row: row) }
    func superDecoder(forKey key: Key) throws -> any Decoder { RowDecoding(row: row) }

    private func present<T>(_ key: Key, _ type: T.Type) throws -> Value {
        switch row[key.stringValue] {
        case nil:
            throw DecodingError.keyNotFound(key, .init(codingPath: [key], debugDescription: "the row has no column \(key.stringValue)"))
        case .null?:
            throw DecodingError.valueNotFound(type, .init(codingPath: [key], debugDescription: "column \(key.stringValue) is null"))
        case let v?:
            return v
        }
    }
}

private func mismatch(_ key: any CodingKey, _ type: Any.Type, _ found: String) -> DecodingError {
    DecodingError.typeMismatch(type, .init(
        codingPath: [key],
        debugDescription: "column \(key.stringValue): expected \(type), found \(found)"
    ))
}

/// One cell, decoded as what the property asks for.
private struct Cell {
    let key: any CodingKey
    let value: Value

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if let v = try special(type) { return v }
        // Anything else (an enum, a wrapper): through a single-value container.
        return try T(from: CellDecoder(cell: self))
    }

    private func special<T>(_ type: T.Type) throws -> T? {
        switch type {
        case is String.Type: return try string() as? T
        case is Bool.Type: return try bool() as? T
        case is Int.Type:
            guard let i = Int(exactly: try integer()) else { throw fail(type) }
            return i as? T
        case is Int64.Type: return try integer() as? T
        case is Int32.Type:
            guard let i = Int32(exactly: try integer()) else { throw mismatch(key, type, "a number beyond Int32") }
            return i as? T
        case is Double.Type: return try double() as? T
        case is Float.Type: return Float(try double()) as? T
        case is Decimal.Type: return try decimal() as? T
        case is Date.Type: return try date() as? T
        case is DateComponents.Type: return try day() as? T
        case is UUID.Type: return try uuid() as? T
        case is Choice.Type: return try choice() as? T
        case is [Choice].Type: return try choices() as? T
        case is [Int64].Type: return try choices().map(\.value) as? T
        case is [Int].Type: return try choices().map { Int($0.value) } as? T
        case is Lookup.Type: return try lookup() as? T
        default: return nil
        }
    }

    func fail(_ type: Any.Type) -> DecodingError { mismatch(key, type, describe(value)) }

    func string() throws -> String {
        switch value {
        case .text(let s), .guid(let s): return s
        case .lookup(let id, _, _): return id
        case .choice(let v, let label): return label ?? String(v)
        case .dateTime(let ms): return iso(ms)
        case .date(let y, let m, let d): return String(format: "%04d-%02d-%02d", y, m, d)
        default: throw fail(String.self)
        }
    }

    func integer() throws -> Int64 {
        switch value {
        case .integer(let i): return i
        case .choice(let v, _): return v
        default: throw fail(Int64.self)
        }
    }

    func bool() throws -> Bool {
        switch value {
        case .bool(let b): return b
        case .integer(let i) where i == 0 || i == 1: return i == 1
        default: throw fail(Bool.self)
        }
    }

    func double() throws -> Double {
        switch value {
        case .real(let d): return d
        case .integer(let i): return Double(i)
        default: throw fail(Double.self)
        }
    }

    func decimal() throws -> Decimal {
        switch value {
        // Through the shortest text of the double: 1250.75, not 1250.7499999.
        case .real(let d): return Decimal(string: "\(d)") ?? Decimal(d)
        case .integer(let i): return Decimal(i)
        default: throw fail(Decimal.self)
        }
    }

    func date() throws -> Date {
        switch value {
        case .dateTime(let ms): return Date(timeIntervalSince1970: Double(ms) / 1000)
        case .text(let s):
            if let d = parseInstant(s) { return d }
            throw mismatch(key, Date.self, "text that is no ISO-8601 date-time")
        case .date: throw mismatch(key, Date.self, "a date-only value (decode it as DateComponents)")
        default: throw fail(Date.self)
        }
    }

    func day() throws -> DateComponents {
        switch value {
        case .date(let y, let m, let d): return DateComponents(year: Int(y), month: Int(m), day: Int(d))
        case .text(let s):
            let parts = s.split(separator: "-").compactMap { Int($0) }
            if parts.count == 3, s.count == 10 { return DateComponents(year: parts[0], month: parts[1], day: parts[2]) }
            throw mismatch(key, DateComponents.self, "text that is no yyyy-MM-dd date")
        default: throw fail(DateComponents.self)
        }
    }

    func uuid() throws -> UUID {
        let text: String
        switch value {
        case .guid(let s), .text(let s): text = s
        case .lookup(let id, _, _): text = id
        default: throw fail(UUID.self)
        }
        guard let u = UUID(uuidString: text) else { throw mismatch(key, UUID.self, "text that is no GUID") }
        return u
    }

    func choice() throws -> Choice {
        switch value {
        case .choice(let v, let label): return Choice(value: v, label: label)
        case .integer(let i): return Choice(value: i)
        default: throw fail(Choice.self)
        }
    }

    func choices() throws -> [Choice] {
        switch value {
        case .choices(let values): return values.map { Choice(value: $0.value, label: $0.label) }
        case .text(let s):
            let parts = s.split(separator: ",").map { Int64($0.trimmingCharacters(in: .whitespaces)) }
            if parts.contains(where: { $0 == nil }) { throw mismatch(key, [Choice].self, "text that is no list of option values") }
            return parts.compactMap { $0 }.map { Choice(value: $0) }
        default: throw fail([Choice].self)
        }
    }

    func lookup() throws -> Lookup {
        switch value {
        case .lookup(let id, let table, let name): return Lookup(id: id, table: table, name: name)
        case .guid(let s), .text(let s): return Lookup(id: s)
        default: throw fail(Lookup.self)
        }
    }
}

private func iso(_ ms: Int64) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

private func parseInstant(_ s: String) -> Date? {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let d = f.date(from: s) { return d }
    f.formatOptions = [.withInternetDateTime]
    return f.date(from: s)
}

/// A single cell for types that decode themselves from one value (enums
/// with a raw value: a choice's label for String, its value for Int).
private struct CellDecoder: Decoder, SingleValueDecodingContainer {
    let cell: Cell
    var codingPath: [any CodingKey] { [cell.key] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<K: CodingKey>(keyedBy type: K.Type) throws -> KeyedDecodingContainer<K> {
        throw mismatch(cell.key, type, describe(cell.value))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw mismatch(cell.key, [Any].self, describe(cell.value))
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { if case .null = cell.value { return true } else { return false } }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try cell.decode(type) }
}

/// A multi-select column's values for an array property of another element type.
private struct ChoicesContainer: UnkeyedDecodingContainer {
    let key: any CodingKey
    let values: [Choice]
    var currentIndex = 0
    var codingPath: [any CodingKey] { [key] }
    var count: Int? { values.count }
    var isAtEnd: Bool { currentIndex >= values.count }

    mutating func decodeNil() throws -> Bool { false }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard !isAtEnd else { throw DecodingError.valueNotFound(type, .init(codingPath: [key], debugDescription: "no more values")) }
        let c = values[currentIndex]
        currentIndex += 1
        return try Cell(key: key, value: .choice(value: c.value, label: c.label)).decode(type)
    }
    mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> {
        throw mismatch(key, type, "option values")
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw mismatch(key, [Any].self, "option values")
    }
    mutating func superDecoder() throws -> any Decoder { CellDecoder(cell: Cell(key: key, value: .null)) }
}
