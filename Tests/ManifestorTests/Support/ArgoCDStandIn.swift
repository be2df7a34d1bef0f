// The Argo CD stand-in of scripts/argocd-standin.py on 127.0.0.1: the ApplicationSet controller's
// webhook (POST /api/webhook), the API server's GET /api/v1/applications/{name} (Bearer token,
// ?refresh=) and an application controller that polls, compares and syncs, over a bare repository
// of the test's git server. Its ApplicationSets are Manifestor's: preview/*, staging/* and
// production/* at `branch` (preview and staging sync automatically, production never by itself).
// What every answer looks like, and from which Argo CD source file, is in the script's docstring.
//
// The stand-in's test controls (no auth) tell what it received and set what each Application's
// next sync ends in (`plan`). Its HTTP is spoken through curl, as the other fixtures do.

import Foundation

final class ArgoCDStandIn: @unchecked Sendable {
    let dir: URL
    /// `http://127.0.0.1:PORT`, the API server (and the webhook, on the same port).
    let url: String
    /// The ApplicationSet controller's webhook: `url/api/webhook`.
    var webhookURL: String { url + "/api/webhook" }
    /// The one Bearer token the API server accepts; nil: every API request is 401.
    let token: String?
    /// `webhook.github.secret`; nil: signatures are not checked.
    let secret: String?
    /// The repoURL the generators and Applications name.
    let repoURL: String
    let branch: String

    private let process: Process
    private let lock = NSLock()
    private var running = true

    private static var script: String { repoRoot().appendingPathComponent("scripts/argocd-standin.py").path }

    private init(dir: URL, process: Process, port: Int, token: String?, secret: String?, repoURL: String, branch: String) {
        self.dir = dir
        self.process = process
        url = "http://127.0.0.1:\(port)"
        self.token = token
        self.secret = secret
        self.repoURL = repoURL
        self.branch = branch
    }

    /// Starts a stand-in in a fresh temporary directory over the bare repository `repo` and
    /// returns once it listens (its generators have run once by then). `requeue`: seconds between
    /// the generators' runs and between an Application's polls of git (Argo CD's 180 by default);
    /// `syncDelay`: seconds a sync takes.
    static func start(
        repo: URL, repoURL: String, branch: String = "main", token: String? = "argocd-test-token",
        secret: String? = "webhook-test-secret", requeue: Double = 180, syncDelay: Double = 0.3
    ) throws -> ArgoCDStandIn {
        let dir = try makeFixtureDir("argocd")
        let process = Process()
        do {
            func setting(_ name: String, _ value: String?) throws {
                guard let value else { return }
                try value.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
            try setting("repo", repo.path)
            try setting("repo_url", repoURL)
            try setting("branch", branch)
            try setting("token", token)
            try setting("secret", secret)
            try setting("requeue", String(requeue))
            try setting("sync_delay", String(syncDelay))

            let output = dir.appendingPathComponent("stderr")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            let handle = try FileHandle(forWritingTo: output)
            defer { try? handle.close() }
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script, dir.path]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = handle
            process.standardError = handle
            try withTerminationSignalsUnblocked { try process.run() }

            // Bounded wait for the port file (written whole, through a rename): 400 x 25 ms.
            let portFile = dir.appendingPathComponent("port")
            var port: Int?
            for _ in 0..<400 where port == nil {
                if let text = try? readTrimmed(portFile), let value = Int(text) {
                    port = value
                } else if !process.isRunning {
                    break
                } else {
                    Thread.sleep(forTimeInterval: 0.025)
                }
            }
            guard let port else {
                let stderr = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
                let log = (try? String(contentsOf: dir.appendingPathComponent("standin.log"), encoding: .utf8)) ?? ""
                throw FixtureError("the Argo CD stand-in did not start\n--- stderr\n\(stderr)\n--- standin.log\n\(log)")
            }
            return ArgoCDStandIn(dir: dir, process: process, port: port, token: token, secret: secret,
                                 repoURL: repoURL, branch: branch)
        } catch {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            if !keepFixtureDirs { try? FileManager.default.removeItem(at: dir) }
            throw error
        }
    }

    // MARK: What it received

    /// One request to the API server or the webhook, as the stand-in logged it (never a token).
    struct Request: Decodable, Sendable {
        var method: String
        var path: String
        /// The query's parameters (the first value of each).
        var query: [String: String]
        /// The status it answered.
        var status: Int
        /// Whether it carried the accepted Bearer token (false for webhooks).
        var authorized: Bool
        /// When it arrived, in seconds since 1970.
        var time: Double
        /// `application` (GET /api/v1/applications/NAME), `webhook`, or `other`.
        var kind: String
        /// The Application named in the path.
        var application: String?
        /// The `refresh` parameter (`normal`, `hard`), nil without one.
        var refresh: String?
        var userAgent: String?
    }

    /// One POST (or other request) to /api/webhook, as the stand-in received and judged it.
    struct Webhook: Decodable, Sendable {
        struct Commit: Decodable, Sendable {
            var id: String?
            var message: String?
            var added: [String]
            var modified: [String]
            var removed: [String]
        }

        /// When it arrived, in seconds since 1970.
        var time: Double
        var method: String
        /// X-GitHub-Event.
        var event: String?
        /// X-GitHub-Delivery.
        var delivery: String?
        var userAgent: String?
        var contentType: String?
        /// `valid`, `invalid`, `missing`, or `unchecked` (no secret, or refused before the check).
        var signature: String
        /// true or false once checked; nil when unchecked.
        var signatureValid: Bool?
        /// The status it answered (200, or 400/405 as Argo CD's ApplicationSet webhook does).
        var status: Int
        /// The answer's text (empty with 200).
        var answer: String
        var ref: String?
        var before: String?
        var after: String?
        var htmlURL: String?
        var cloneURL: String?
        var defaultBranch: String?
        var commits: [Commit]
        /// `ref` as Argo CD reads it (refs/heads/main: main).
        var revision: String?
        var touchedHead: Bool?
        /// Whether the push named the generators' repository and revision (so they ran).
        var matched: Bool
        var applicationSets: [String]
        /// The Applications that run of the generators created and deleted.
        var created: [String]
        var deleted: [String]
    }

    /// One Application as the stand-in holds it.
    struct AppState: Decodable, Sendable {
        struct Plan: Decodable, Sendable {
            var health: String
            var operation: String
            var freeze: Bool
        }

        var name: String
        /// Its directory in the repository, e.g. `preview/task-a`.
        var path: String
        /// Its destination namespace.
        var namespace: String
        /// status.sync.status: `Synced`, `OutOfSync` or `Unknown`.
        var sync: String
        /// status.sync.revision: the commit it was last compared to.
        var revision: String?
        /// status.health.status.
        var health: String
        /// status.operationState.phase (`Running`, `Succeeded`, `Failed`, `Error`); nil before the first sync.
        var operation: String?
        var operationMessage: String?
        /// status.operationState.syncResult.revision.
        var operationRevision: String?
        /// The revision of the last sync that applied anything.
        var syncedRevision: String?
        /// Whether a sync is running right now.
        var syncing: Bool
        /// status.reconciledAt (RFC 3339).
        var reconciledAt: String?
        var reconciles: Int
        var syncs: Int
        var frozen: Bool
        var plan: Plan
        /// When it was created, in seconds since 1970.
        var created: Double
    }

    /// Every API and webhook request so far (since the last `resetRequests`), oldest first.
    func requests() throws -> [Request] { try get([Request].self, "/_standin/requests") }

    /// Every request to the webhook so far, oldest first.
    func webhooks() throws -> [Webhook] { try get([Webhook].self, "/_standin/webhooks") }

    /// Every Application, by name.
    func apps() throws -> [String: AppState] { try get([String: AppState].self, "/_standin/apps") }

    /// The Application `name`, or nil if it does not exist.
    func app(_ name: String) throws -> AppState? {
        let answer = try call("GET", "/_standin/apps/\(name)")
        if answer.status == 404 { return nil }
        return try decode(AppState.self, answer, "GET /_standin/apps/\(name)")
    }

    /// Empties the request log.
    func resetRequests() throws { try post("/_standin/reset-requests") }

    // MARK: What it does

    private struct PlanBody: Encodable {
        var health: String?
        var operation: String?
        var freeze: Bool?
    }

    /// Sets what `name`'s next sync ends in (and, for an Application that has synced and has no
    /// sync running, what it shows now): `health` (Healthy, Progressing, Degraded, Suspended,
    /// Missing, Unknown), `operation` (Succeeded, Failed, Error, Running); `freeze: true` starts
    /// no sync until `freeze: false`. nil leaves a field as it was. `name` need not exist yet.
    func plan(_ name: String, health: String? = nil, operation: String? = nil, freeze: Bool? = nil) throws {
        let body = try JSONEncoder().encode(PlanBody(health: health, operation: operation, freeze: freeze))
        try post("/_standin/apps/\(name)", json: body)
    }

    /// A manual sync of `name` (as `argocd app sync`), whatever its sync policy: production's way to sync.
    func sync(_ name: String) throws { try post("/_standin/apps/\(name)/sync") }

    /// Polls `condition` every 50 ms until it holds (true) or `timeout` seconds have passed (false).
    func waitFor(_ timeout: TimeInterval, _ condition: () throws -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if try condition() { return true }
            if Date() >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// The stand-in's log (DIR/standin.log), for failure messages.
    func log() -> String {
        (try? String(contentsOf: dir.appendingPathComponent("standin.log"), encoding: .utf8)) ?? ""
    }

    var isRunning: Bool { lock.withLock { running } }

    /// Kills the stand-in (SIGKILL: the test process blocks SIGTERM, and its children inherit
    /// that) and waits for it to exit. Its folder stays until the fixture is released.
    func stop() {
        lock.withLock {
            guard running else { return }
            running = false
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
        if !keepFixtureDirs { try? FileManager.default.removeItem(at: dir) }
    }

    // MARK: HTTP, through curl

    /// `method` `path` with an optional JSON body; the status and the body of the answer.
    private func call(_ method: String, _ path: String, json: Data? = nil) throws -> (status: Int, body: String) {
        var args = ["-sS", "--max-time", "30", "-X", method, "-w", "\\n%{http_code}"]
        if json != nil { args += ["-H", "Content-Type: application/json", "--data-binary", "@-"] }
        args.append(url + path)
        let result = try run("curl", args, stdin: json, timeout: 60)
        guard result.status == 0 else {
            throw FixtureError(command: ["curl"] + args, status: result.status, stdout: result.stdout, stderr: result.stderr)
        }
        guard let newline = result.stdout.lastIndex(of: "\n"),
              let status = Int(result.stdout[result.stdout.index(after: newline)...]) else {
            throw FixtureError("curl \(method) \(path) printed no status: \(result.stdout)")
        }
        return (status, String(result.stdout[..<newline]))
    }

    private func get<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
        let answer = try call("GET", path)
        return try decode(type, answer, "GET \(path)")
    }

    private func post(_ path: String, json: Data? = nil) throws {
        let answer = try call("POST", path, json: json)
        guard answer.status == 200 else { throw FixtureError("POST \(path) answered \(answer.status): \(answer.body)") }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ answer: (status: Int, body: String), _ what: String) throws -> T {
        guard answer.status == 200 else { throw FixtureError("\(what) answered \(answer.status): \(answer.body)") }
        do {
            return try JSONDecoder().decode(type, from: Data(answer.body.utf8))
        } catch {
            throw FixtureError("\(what): cannot decode \(T.self): \(error)\n\(answer.body)")
        }
    }
}
