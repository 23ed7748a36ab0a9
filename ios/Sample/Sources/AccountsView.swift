// Accounts from the local mirror, live (rows stream): create, edit and
// delete apply at once, offline too, and upload when the server is reachable.
import Mooring
import SwiftUI

struct Account: Identifiable, Hashable {
    let id: String
    var name: String
    var phone: String

    init(row: [String: Value]) {
        id = row["accountid"]?.string ?? ""
        name = row["name"]?.string ?? ""
        phone = row["telephone1"]?.string ?? ""
    }
}

extension Value {
    var string: String? {
        switch self {
        case .text(let v), .guid(let v): return v
        default: return nil
        }
    }
}

struct AccountsView: View {
    let client: MooringClient
    @State private var accounts: [Account] = []
    @State private var editing: Account?
    @State private var creating = false
    @State private var failure: String?

    var body: some View {
        List {
            ForEach(accounts) { account in
                Button {
                    editing = account
                } label: {
                    VStack(alignment: .leading) {
                        Text(account.name).font(.body)
                        if !account.phone.isEmpty {
                            Text(account.phone).font(.caption).foregroundStyle(.secondary)
                        }
                    }
                }
                .foregroundStyle(.primary)
            }
            .onDelete { offsets in
                let ids = offsets.map { accounts[$0].id }
                Task { await run { for id in ids { try await client.delete("accounts", id: id) } } }
            }
        }
        .toolbar {
            ToolbarItem(placement: .topBarLeading) {
                Button("New", systemImage: "plus") { creating = true }
            }
        }
        .refreshable { try? await client.syncNow() }
        .task {
            let query = Query(table: "accounts", filters: [], order: [SortKey(column: "name", descending: false)],
                              limit: 500, offset: nil)
            do {
                for try await rows in client.rows(query) {
                    accounts = rows.map(Account.init(row:))
                }
            } catch {
                failure = "\(error)"
            }
        }
        .sheet(item: $editing) { account in
            AccountForm(title: "Edit account", name: account.name, phone: account.phone) { name, phone in
                await run {
                    try await client.update("accounts", id: account.id,
                                            values: ["name": .text(value: name), "telephone1": .text(value: phone)])
                }
            }
        }
        .sheet(isPresented: $creating) {
            AccountForm(title: "New account", name: "", phone: "") { name, phone in
                await run {
                    _ = try await client.create("accounts",
                                                values: ["name": .text(value: name), "telephone1": .text(value: phone)])
                }
            }
        }
        .alert("Could not save", isPresented: .constant(failure != nil)) {
            Button("OK") { failure = nil }
        } message: {
            Text(failure ?? "")
        }
    }

    private func run(_ body: () async throws -> Void) async {
        do { try await body() } catch { failure = "\(error)" }
    }
}

struct AccountForm: View {
    let title: String
    @State var name: String
    @State var phone: String
    let save: (String, String) async -> Void
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        NavigationStack {
            Form {
                TextField("Name", text: $name)
                TextField("Phone", text: $phone).keyboardType(.phonePad)
            }
            .navigationTitle(title)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) { Button("Cancel") { dismiss() } }
                ToolbarItem(placement: .confirmationAction) {
                    Button("Save") {
                        Task {
                            await save(name, phone)
                            dismiss()
                        }
                    }
                    .disabled(name.isEmpty)
                }
            }
        }
    }
}
