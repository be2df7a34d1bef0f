// A registry that wants tokens: Debian's docker-registry over https (a private CA made by
// scripts/registry.sh at start) with `auth: token`, and beside it the token service of
// scripts/registry-token-server.py, which issues the JWTs the registry verifies. Both on
// 127.0.0.1, started and stopped by the test (`scripts/registry.sh start DIR --token`).

import Foundation
import Testing

final class TokenRegistry: @unchecked Sendable {
    static let user = Registry.user
    /// The `service` of the registry's challenges and of its tokens.
    static let service = "manifestor-test-registry"

    let dir: URL
    /// `https://127.0.0.1:PORT`
    let url: String
    /// The password of `user` at the token service.
    let password: String
    /// The token service's endpoint, as the registry's challenges name it.
    let realm: String
    /// The private CA that issued the registry's and the token service's certificates.
    var caFile: String { dir.appendingPathComponent("tls/ca.pem").path }
    /// `127.0.0.1:PORT`, the registry part of an image reference.
    var host: String { url.replacingOccurrences(of: "https://", with: "") }

    private let lock = NSLock()
    private var running = true

    private static var script: String { RegistryScript.path }

    private init(dir: URL) throws {
        self.dir = dir
        url = try readTrimmed(dir.appendingPathComponent("url"))
        password = try readTrimmed(dir.appendingPathComponent("password"))
        realm = try readTrimmed(dir.appendingPathComponent("realm"))
    }

    /// Starts the registry and its token service in a fresh temporary directory; returns once
    /// the registry answers /v2/ over https. `tokenLifetime`: the tokens' `expires_in`.
    static func start(tokenLifetime: Int = 300) throws -> TokenRegistry {
        try RegistryScript.start("token-registry", ["--token"], timeout: 120, prepare: { dir in
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("token"), withIntermediateDirectories: true)
            try "\(tokenLifetime)\n".write(to: dir.appendingPathComponent("token/expires_in"), atomically: true, encoding: .utf8)
        }, make: { try TokenRegistry(dir: $0) })
    }

    /// Pushes a tiny OCI image as `name:tag` (with a pull,push token of its own) and returns
    /// its manifest digest.
    @discardableResult
    func push(name: String, tag: String) throws -> String {
        try RegistryScript.push(dir: dir, name: name, tag: tag)
    }

    /// `127.0.0.1:PORT/NAME:TAG`
    func reference(name: String, tag: String) -> String { "\(host)/\(name):\(tag)" }

    /// One token request as the token service logged it (never a password or a token).
    struct TokenRequest: Decodable {
        var status: Int
        var account: String?
        var scopes: [String]
        var userAgent: String
    }

    /// Every token request so far, oldest first.
    func tokenRequests() throws -> [TokenRequest] {
        let log = dir.appendingPathComponent("token/requests.log")
        guard FileManager.default.fileExists(atPath: log.path) else { return [] }
        return try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(TokenRequest.self, from: Data($0.utf8))
        }
    }

    /// The token requests of clients other than the push helper (which asks for pull,push).
    func pullTokenRequests() throws -> [TokenRequest] {
        try tokenRequests().filter { !$0.scopes.contains { $0.hasSuffix(",push") || $0.hasSuffix(":push") } }
    }

    /// The two processes, for `pause` and `resume`.
    enum Part: String { case registry = "pid", tokenService = "token/pid" }

    /// Freezes `part` (SIGSTOP): it keeps accepting connections (the kernel's backlog) and
    /// answers nothing, as a stalled server does, until `resume`.
    func pause(_ part: Part) throws { try send(SIGSTOP, to: part) }

    func resume(_ part: Part) throws { try send(SIGCONT, to: part) }

    private func send(_ signalNumber: Int32, to part: Part) throws {
        let pid = try #require(Int32(try readTrimmed(dir.appendingPathComponent(part.rawValue))))
        guard signalProcess(pid, signalNumber) == 0 else { throw FixtureError("cannot signal the \(part) (pid \(pid))") }
    }

    /// A file in the fixture's directory (removed with it) holding `text`.
    func file(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Stops the registry and its token service (SIGKILL: fast; nothing is kept).
    func kill() {
        lock.withLock {
            guard running else { return }
            running = false
            _ = try? run("/bin/bash", [Self.script, "stop", dir.path, "--kill"], timeout: 30)
        }
    }

    deinit {
        kill()
        if !keepFixtureDirs { try? FileManager.default.removeItem(at: dir) }
    }
}

/// `kill(2)`, out of reach of `TokenRegistry.kill()`.
private func signalProcess(_ pid: Int32, _ signalNumber: Int32) -> Int32 { kill(pid, signalNumber) }
