import Foundation

/// The `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge of a registry that
/// wants a token (the Docker token flow, which Gitea's container registry speaks too).
package struct BearerChallenge: Sendable, Equatable {
    package var realm: String
    package var service: String?
    package var scope: String?

    package init(realm: String, service: String? = nil, scope: String? = nil) {
        self.realm = realm; self.service = service; self.scope = scope
    }

    /// Parses the header's value; nil when it is not a Bearer challenge with a realm. Quoted
    /// values may hold commas (`scope="repository:a:pull,push"`) and `\"` escapes.
    package init?(header: String?) {
        guard let header else { return nil }
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.count > 7, text.prefix(7).lowercased() == "bearer " else { return nil }
        let parameters = Self.parameters(text.dropFirst(7))
        guard let realm = parameters["realm"], !realm.isEmpty else { return nil }
        self.init(realm: realm, service: parameters["service"], scope: parameters["scope"])
    }

    /// `name=value` pairs separated by commas, values bare or quoted; names lower-cased.
    static func parameters(_ text: Substring) -> [String: String] {
        var result: [String: String] = [:]
        var index = text.startIndex
        func skip(_ characters: Set<Character>) {
            while index < text.endIndex, characters.contains(text[index]) { index = text.index(after: index) }
        }
        while index < text.endIndex {
            skip([" ", "\t", ","])
            let nameStart = index
            while index < text.endIndex, text[index] != "=", text[index] != "," { index = text.index(after: index) }
            let name = text[nameStart..<index].trimmingCharacters(in: .whitespaces).lowercased()
            guard index < text.endIndex, text[index] == "=" else { continue }
            index = text.index(after: index)
            skip([" ", "\t"])
            var value = ""
            if index < text.endIndex, text[index] == "\"" {
                index = text.index(after: index)
                while index < text.endIndex, text[index] != "\"" {
                    if text[index] == "\\", text.index(after: index) < text.endIndex { index = text.index(after: index) }
                    value.append(text[index])
                    index = text.index(after: index)
                }
                if index < text.endIndex { index = text.index(after: index) }
            } else {
                let valueStart = index
                while index < text.endIndex, text[index] != "," { index = text.index(after: index) }
                value = text[valueStart..<index].trimmingCharacters(in: .whitespaces)
            }
            if !name.isEmpty { result[name] = value }
        }
        return result
    }
}

/// What the token service of a registry answers: `token` (or `access_token`), and how long it
/// lives (`expires_in`, 60 s when absent, as the token spec says).
struct RegistryTokenAnswer: Decodable {
    var token: String?
    var access_token: String?
    var expires_in: Double?

    var value: String? { [token, access_token].compactMap { $0 }.first { !$0.isEmpty } }
    var lifetime: TimeInterval { max(0, expires_in ?? 60) }
}

/// The tokens a registry client was given, per (realm, service, scope), kept until shortly
/// before they expire; shared by every copy of the client. One token request at a time per key:
/// callers that need the same token while it is being fetched wait for it (up to their
/// deadline) rather than asking the token service again.
final class RegistryTokens: @unchecked Sendable {
    struct Key: Hashable {
        var realm: String
        var service: String?
        var scope: String
    }

    /// How long before its expiry a token is no longer sent: one request's worth of slack.
    static let margin: TimeInterval = 10

    private let lock = NSLock()
    private var tokens: [Key: (value: String, usableUntil: Date)] = [:]
    private var fetching: [Key: NSLock] = [:]
    /// The realm and service of the registry's last challenge, so that the next look-up can
    /// send a token it already holds without being challenged first.
    private var lastChallenge: BearerChallenge?

    /// The key of `repository`'s pull token, when the registry has challenged before.
    func expectedKey(repository: String) -> Key? {
        lock.withLock { lastChallenge }.map { Key(realm: $0.realm, service: $0.service, scope: "repository:\(repository):pull") }
    }

    /// The token held for `key`, if it is still usable at `now`.
    func cached(_ key: Key, now: Date = Date()) -> String? {
        lock.withLock {
            guard let entry = tokens[key], entry.usableUntil > now else { return nil }
            return entry.value
        }
    }

    func remember(_ challenge: BearerChallenge) {
        lock.withLock { lastChallenge = BearerChallenge(realm: challenge.realm, service: challenge.service) }
    }

    /// Drops a token the registry refused.
    func forget(_ key: Key, token: String) {
        lock.withLock { if tokens[key]?.value == token { tokens[key] = nil } }
    }

    /// The token for `key`: the one held, else `fetch()`'s, kept for its lifetime less the
    /// margin. Throws `timedOut()` when another caller's fetch of the same key outlasts `deadline`.
    func token(for key: Key, deadline: Date, timedOut: () -> Error,
               fetch: () throws -> (value: String, lifetime: TimeInterval)) throws -> String {
        let keyLock = lock.withLock { () -> NSLock in
            if let existing = fetching[key] { return existing }
            let created = NSLock()
            fetching[key] = created
            return created
        }
        guard keyLock.lock(before: deadline) else { throw timedOut() }
        defer { keyLock.unlock() }
        if let held = cached(key) { return held }
        let started = Date()
        let fresh = try fetch()
        let usableUntil = started.addingTimeInterval(fresh.lifetime - Self.margin)
        lock.withLock {
            let now = Date()
            tokens = tokens.filter { $0.value.usableUntil > now }
            if usableUntil > now { tokens[key] = (fresh.value, usableUntil) }
        }
        return fresh.value
    }
}
