// Test fixtures that run REAL servers on 127.0.0.1 (no mocks):
//  - GitServer: lighttpd + git http-backend with basic auth (scripts/git-server.sh), optional TLS
//  - Registry:  Debian's docker-registry (scripts/registry.sh), optional htpasswd auth
// plus `run`, a Process helper that never deadlocks on pipes and never hangs forever.
//
// Every failure throws a FixtureError carrying the command, its exit status and its
// output, so a broken fixture fails the test loudly (never skip). The machine needs
// scripts/setup.sh to have run once (lighttpd, docker-registry, apache2-utils, ...).
//
// Foundation only; Swift 6 language mode.

import Foundation

// MARK: - Errors

struct FixtureError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }

    init(command: [String], status: Int32, stdout: String, stderr: String) {
        var text = "fixture command failed (exit \(status)): \(command.joined(separator: " "))"
        if !stderr.isEmpty { text += "\n--- stderr\n\(stderr)" }
        if !stdout.isEmpty { text += "\n--- stdout\n\(stdout)" }
        description = text
    }
}

// MARK: - Paths and processes

/// The repository root: the nearest folder above this file that holds Package.swift.
func repoRoot() -> URL {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/" {
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            return dir
        }
        dir.deleteLastPathComponent()
    }
    fatalError("no Package.swift above \(#filePath)")
}

/// Runs `executable` (a path, or a name looked up in PATH) with `args` and returns its exit
/// status and output. `env` is added to the current environment. Output goes to temporary
/// files, so neither a chatty child nor a background grandchild can deadlock or hang the
/// caller. A child still running after `timeout` seconds is killed and an error thrown.
/// A non-zero exit is NOT an error here: check `status` (or use `runChecked`).
@discardableResult
func run(
    _ executable: String,
    _ args: [String],
    env: [String: String] = [:],
    cwd: URL? = nil,
    stdin: Data? = nil,
    timeout: TimeInterval = 300
) throws -> (status: Int32, stdout: String, stderr: String) {
    let fm = FileManager.default
    let scratch = fm.temporaryDirectory.appendingPathComponent("fixture-run-\(UUID().uuidString)")
    try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? fm.removeItem(at: scratch) }

    let outURL = scratch.appendingPathComponent("stdout")
    let errURL = scratch.appendingPathComponent("stderr")
    _ = fm.createFile(atPath: outURL.path, contents: nil)
    _ = fm.createFile(atPath: errURL.path, contents: nil)
    let outHandle = try FileHandle(forWritingTo: outURL)
    let errHandle = try FileHandle(forWritingTo: errURL)
    defer {
        try? outHandle.close()
        try? errHandle.close()
    }

    let process = Process()
    process.executableURL = try resolveExecutable(executable)
    process.arguments = args
    var environment = ProcessInfo.processInfo.environment
    for (key, value) in env { environment[key] = value }
    process.environment = environment
    if let cwd { process.currentDirectoryURL = cwd }
    process.standardOutput = outHandle
    process.standardError = errHandle

    var inHandle: FileHandle?
    if let stdin {
        let inURL = scratch.appendingPathComponent("stdin")
        try stdin.write(to: inURL)
        inHandle = try FileHandle(forReadingFrom: inURL)
        process.standardInput = inHandle
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    defer { try? inHandle?.close() }

    let exited = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in exited.signal() }
    do {
        try withTerminationSignalsUnblocked { try process.run() }
    } catch {
        throw FixtureError("cannot start \(executable) \(args.joined(separator: " ")): \(error)")
    }

    if exited.wait(timeout: .now() + timeout) == .timedOut {
        process.terminate()
        if exited.wait(timeout: .now() + 5) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 5)
        }
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        throw FixtureError(
            "timed out after \(Int(timeout)) s, killed: \(executable) \(args.joined(separator: " "))"
                + (stderr.isEmpty ? "" : "\n--- stderr\n\(stderr)"))
    }
    process.waitUntilExit()

    let stdout = String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self)
    let stderr = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
    return (process.terminationStatus, stdout, stderr)
}

/// `run`, but a non-zero exit throws a FixtureError with the output. Returns stdout.
@discardableResult
func runChecked(
    _ executable: String,
    _ args: [String],
    env: [String: String] = [:],
    cwd: URL? = nil,
    stdin: Data? = nil,
    timeout: TimeInterval = 300
) throws -> String {
    let result = try run(executable, args, env: env, cwd: cwd, stdin: stdin, timeout: timeout)
    guard result.status == 0 else {
        throw FixtureError(
            command: [executable] + args, status: result.status,
            stdout: result.stdout, stderr: result.stderr)
    }
    return result.stdout
}

/// A child inherits the signal mask of the thread that spawns it, and Swift concurrency /
/// dispatch threads run with SIGTERM, SIGINT, ... blocked: a child spawned from a test as
/// is would ignore `Process.terminate()` and `kill`. Unblock those (all of them fatal by
/// default, none handled through signalfd) on this thread while Process spawns.
/// SIGCHLD stays as it is (dispatch may consume it through signalfd).
/// Internal so that tests spawning a long-running Process themselves (e.g. `manifestor serve`)
/// can wrap their `process.run()` the same way.
func withTerminationSignalsUnblocked<T>(_ body: () throws -> T) rethrows -> T {
    var set = sigset_t()
    sigemptyset(&set)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE] {
        sigaddset(&set, signal)
    }
    var previous = sigset_t()
    pthread_sigmask(SIG_UNBLOCK, &set, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    return try body()
}

private func resolveExecutable(_ name: String) throws -> URL {
    if name.contains("/") { return URL(fileURLWithPath: name) }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    throw FixtureError("executable not found in PATH: \(name) (did scripts/setup.sh run?)")
}

func makeFixtureDir(_ prefix: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("manifestor-\(prefix)-\(UUID().uuidString.prefix(8).lowercased())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

func readTrimmed(_ url: URL) throws -> String {
    do {
        return try String(contentsOf: url, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    } catch {
        throw FixtureError("cannot read \(url.path): \(error)")
    }
}

/// Fixture directories are removed when the fixture is released, unless
/// MANIFESTOR_KEEP_FIXTURES=1 (then they stay in $TMPDIR for a post-mortem).
var keepFixtureDirs: Bool {
    ProcessInfo.processInfo.environment["MANIFESTOR_KEEP_FIXTURES"] == "1"
}

// MARK: - Git server

/// A smart-HTTP git server (lighttpd + git http-backend) on 127.0.0.1 with basic auth
/// (user `manifestor`) on every request. With TLS its URL is https://localhost:PORT/git
/// and its certificate is signed by the CA in `caFile`.
final class GitServer: @unchecked Sendable {
    static let user = "manifestor"

    let dir: URL
    /// `http://127.0.0.1:PORT/git` or `https://localhost:PORT/git`; repos are `baseURL/NAME.git`.
    let baseURL: String
    let password: String
    let tls: Bool
    /// The CA certificate (PEM) that signed the server certificate; nil without TLS.
    let caFile: URL?
    var user: String { Self.user }

    private let lock = NSLock()
    private var running = true

    private static var script: String { repoRoot().appendingPathComponent("scripts/git-server.sh").path }

    private init(dir: URL, tls: Bool) throws {
        self.dir = dir
        self.tls = tls
        baseURL = try readTrimmed(dir.appendingPathComponent("url"))
        password = try readTrimmed(dir.appendingPathComponent("password"))
        caFile = tls ? dir.appendingPathComponent("ca.pem") : nil
    }

    /// Starts a server in a fresh temporary directory and waits until it answers.
    static func start(tls: Bool = false) throws -> GitServer {
        let dir = try makeFixtureDir("git")
        do {
            try runChecked("/bin/bash", [script, "start", dir.path] + (tls ? ["--tls"] : []), timeout: 60)
            return try GitServer(dir: dir, tls: tls)
        } catch {
            _ = try? run("/bin/bash", [script, "stop", dir.path, "--kill"], timeout: 30)
            if !keepFixtureDirs { try? FileManager.default.removeItem(at: dir) }
            throw error
        }
    }

    /// Creates the bare repository DIR/repos/NAME.git (HEAD main, no commits,
    /// receive.denyNonFastForwards) and returns its clone URL, without credentials.
    @discardableResult
    func createRepo(_ name: String) throws -> String {
        try runChecked("/bin/bash", [Self.script, "create-repo", dir.path, name], timeout: 60)
        return repoURL(name)
    }

    /// `baseURL/NAME.git`, without credentials.
    func repoURL(_ name: String) -> String { "\(baseURL)/\(name).git" }

    /// DIR/repos/NAME.git, for `git --git-dir=...` inspection on the server side.
    func bareRepoPath(_ name: String) -> URL {
        dir.appendingPathComponent("repos/\(name).git")
    }

    /// `url` with `manifestor:PASSWORD@` inserted (for the git CLI only).
    func urlWithCredentials(_ url: String) -> String {
        guard let range = url.range(of: "://") else { return url }
        return url.replacingCharacters(in: range, with: "://\(Self.user):\(password)@")
    }

    /// Environment for the git CLI against this server: never prompts, trusts `caFile`,
    /// ignores the user's global/system config, has a committer identity.
    var gitEnvironment: [String: String] {
        var env = [
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_AUTHOR_NAME": "Fixture",
            "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
            "GIT_COMMITTER_NAME": "Fixture",
            "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
        ]
        if let caFile { env["GIT_SSL_CAINFO"] = caFile.path }
        return env
    }

    /// Runs the git CLI with `gitEnvironment`; throws on a non-zero exit; returns stdout.
    @discardableResult
    func git(_ args: [String], cwd: URL? = nil) throws -> String {
        try runChecked("git", args, env: gitEnvironment, cwd: cwd, timeout: 120)
    }

    /// Clones `repoURL` (without credentials, e.g. from `createRepo`) into `into` with the
    /// git CLI. The working copy's origin URL carries the credentials, so `git push`
    /// from it works (and counts in `pushCount`).
    func clone(_ repoURL: String, into: URL) throws {
        try git(["clone", "--quiet", urlWithCredentials(repoURL), into.path])
    }

    /// Commits `files` (path relative to the repo root → content; nil deletes) on `branch`
    /// of repo `name` through a throwaway clone and pushes it: another writer, as far as
    /// the code under test can tell. Works on an empty repo. Returns the new commit id.
    /// The push counts in `pushCount`.
    @discardableResult
    func commitFiles(
        repo name: String, files: [String: String?], message: String = "fixture commit",
        branch: String = "main"
    ) throws -> String {
        let work = try makeFixtureDir("clone")
        defer { try? FileManager.default.removeItem(at: work) }
        try clone(repoURL(name), into: work)
        let remoteBranches = try git(["ls-remote", "--heads", "origin", branch], cwd: work)
        if remoteBranches.isEmpty {
            try git(["checkout", "--quiet", "--orphan", branch], cwd: work)
        } else {
            try git(["checkout", "--quiet", "-B", branch, "origin/\(branch)"], cwd: work)
        }
        for (path, content) in files.sorted(by: { $0.key < $1.key }) {
            let file = work.appendingPathComponent(path)
            if let content {
                try FileManager.default.createDirectory(
                    at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(content.utf8).write(to: file)
                try git(["add", "--", path], cwd: work)
            } else {
                try git(["rm", "--quiet", "-r", "--", path], cwd: work)
            }
        }
        try git(["commit", "--quiet", "--allow-empty", "-m", message], cwd: work)
        try git(["push", "--quiet", "origin", "HEAD:refs/heads/\(branch)"], cwd: work)
        return try git(["rev-parse", "HEAD"], cwd: work).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The commit id of `ref` in the server's bare repo, or nil if it does not exist.
    func revParse(repo name: String, _ ref: String = "refs/heads/main") throws -> String? {
        let result = try run(
            "git", ["--git-dir", bareRepoPath(name).path, "rev-parse", "--verify", "--quiet", ref + "^{commit}"],
            env: gitEnvironment, timeout: 60)
        guard result.status == 0 else { return nil }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Requests that reached git http-backend after passing auth, in order, as
    /// "METHOD URI USER" (DIR/requests.log, written synchronously before git runs, so it is
    /// complete as soon as the client has returned).
    func requests() throws -> [String] {
        let text = try String(contentsOf: dir.appendingPathComponent("requests.log"), encoding: .utf8)
        return text.split(separator: "\n").map(String.init)
    }

    /// Number of pushes (POSTs to git-receive-pack that passed auth), for all repos or
    /// only `repo`. A push that the server then rejects (non-fast-forward) still counts.
    /// Note: the git CLI sends an extra probe POST for packs over http.postBuffer (1 MiB).
    func pushCount(repo: String? = nil) throws -> Int {
        let path = repo.map { "/git/\($0).git/git-receive-pack" }
        return try requests().filter { line in
            let parts = line.split(separator: " ")
            guard parts.count >= 2, parts[0] == "POST" else { return false }
            let uri = parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
            if let path { return uri == path }
            return uri.hasSuffix("/git-receive-pack")
        }.count
    }

    /// Number of fetches (POSTs to git-upload-pack that passed auth), for all repos or `repo`.
    func fetchCount(repo: String? = nil) throws -> Int {
        let path = repo.map { "/git/\($0).git/git-upload-pack" }
        return try requests().filter { line in
            let parts = line.split(separator: " ")
            guard parts.count >= 2, parts[0] == "POST" else { return false }
            let uri = String(parts[1])
            if let path { return uri == path }
            return uri.hasSuffix("/git-upload-pack")
        }.count
    }

    /// lighttpd's access log (every request, 401s included). Written through a pipe, so
    /// its last line may trail the client by a moment: count with `requests()` instead.
    func accessLog() throws -> String {
        try String(contentsOf: dir.appendingPathComponent("access.log"), encoding: .utf8)
    }

    var isRunning: Bool { lock.withLock { running } }

    /// Stops the server with SIGTERM and waits for it to exit (lighttpd needs 1-2 s).
    /// The directory and repos stay until the fixture is released.
    func stop() { halt(["stop", dir.path]) }

    /// Kills the server at once (SIGKILL): a crash, as far as clients can tell.
    func kill() { halt(["stop", dir.path, "--kill"]) }

    private func halt(_ args: [String]) {
        lock.withLock {
            guard running else { return }
            running = false
            _ = try? run("/bin/bash", [Self.script] + args, timeout: 30)
        }
    }

    /// Starts the server again on the same directory, repos and (if still free) port.
    func restart() throws {
        try lock.withLock {
            if running { _ = try? run("/bin/bash", [Self.script, "stop", dir.path], timeout: 30) }
            running = false
            try runChecked("/bin/bash", [Self.script, "start", dir.path] + (tls ? ["--tls"] : []), timeout: 60)
            running = true
            let url = try readTrimmed(dir.appendingPathComponent("url"))
            guard url == baseURL else {
                throw FixtureError("git server came back on \(url), not \(baseURL) (port was taken)")
            }
        }
    }

    deinit {
        kill()  // fast; the directory goes away with it
        if !keepFixtureDirs { try? FileManager.default.removeItem(at: dir) }
    }
}

// MARK: - Registry

/// `scripts/registry.sh`, which starts, stops and pushes to the test registries (`Registry`,
/// `TokenRegistry`).
enum RegistryScript {
    static var path: String { repoRoot().appendingPathComponent("scripts/registry.sh").path }

    /// Runs `start` with `arguments` in a fresh fixture folder (after `prepare` on it) and
    /// `make`s the fixture; when either fails, stops what was started and removes the folder.
    static func start<T>(_ prefix: String, _ arguments: [String], timeout: TimeInterval,
                         prepare: (URL) throws -> Void = { _ in }, make: (URL) throws -> T) throws -> T {
        let dir = try makeFixtureDir(prefix)
        do {
            try prepare(dir)
            try runChecked("/bin/bash", [path, "start", dir.path] + arguments, timeout: timeout)
            return try make(dir)
        } catch {
            _ = try? run("/bin/bash", [path, "stop", dir.path, "--kill"], timeout: 30)
            if !keepFixtureDirs { try? FileManager.default.removeItem(at: dir) }
            throw error
        }
    }

    /// Pushes a tiny valid OCI image (config blob + manifest, no layers) as `name:tag` to the
    /// registry of `dir` and returns its manifest digest (`sha256:...`).
    static func push(dir: URL, name: String, tag: String) throws -> String {
        let out = try runChecked("/bin/bash", [path, "push", dir.path, name, tag], timeout: 60)
        let digest = out.trimmingCharacters(in: .whitespacesAndNewlines)
        guard digest.hasPrefix("sha256:"), digest.count == 71 else {
            throw FixtureError("registry push \(name):\(tag) printed no digest: \(out)")
        }
        return digest
    }
}

/// An OCI distribution registry (Debian's docker-registry) on 127.0.0.1, filesystem storage,
/// optionally with htpasswd basic auth (user `manifestor`).
final class Registry: @unchecked Sendable {
    static let user = "manifestor"

    let dir: URL
    /// `http://127.0.0.1:PORT`
    let url: String
    /// The basic-auth password, or nil when started without auth.
    let password: String?
    let auth: Bool
    var user: String { Self.user }
    /// `127.0.0.1:PORT`, the registry part of an image reference.
    var host: String { url.replacingOccurrences(of: "http://", with: "") }

    private let lock = NSLock()
    private var running = true

    private static var script: String { RegistryScript.path }

    private init(dir: URL, auth: Bool) throws {
        self.dir = dir
        self.auth = auth
        url = try readTrimmed(dir.appendingPathComponent("url"))
        password = auth ? try readTrimmed(dir.appendingPathComponent("password")) : nil
    }

    /// Starts a registry in a fresh temporary directory and waits until /v2/ answers.
    static func start(auth: Bool = false) throws -> Registry {
        try RegistryScript.start("registry", auth ? ["--auth"] : [], timeout: 60) { try Registry(dir: $0, auth: auth) }
    }

    /// Pushes a tiny valid OCI image (config blob + manifest, no layers) as `name:tag` and
    /// returns its manifest digest (`sha256:...`). Every push yields a new digest.
    @discardableResult
    func push(name: String, tag: String) throws -> String {
        try RegistryScript.push(dir: dir, name: name, tag: tag)
    }

    /// `127.0.0.1:PORT/NAME:TAG`
    func reference(name: String, tag: String) -> String { "\(host)/\(name):\(tag)" }

    var isRunning: Bool { lock.withLock { running } }

    /// Stops the registry with SIGTERM and waits for it to exit.
    /// Stored images stay until the fixture is released.
    func stop() { halt(["stop", dir.path]) }

    /// Kills the registry at once (SIGKILL).
    func kill() { halt(["stop", dir.path, "--kill"]) }

    private func halt(_ args: [String]) {
        lock.withLock {
            guard running else { return }
            running = false
            _ = try? run("/bin/bash", [Self.script] + args, timeout: 30)
        }
    }

    /// Starts the registry again on the same storage and (if still free) port.
    func restart() throws {
        try lock.withLock {
            if running { _ = try? run("/bin/bash", [Self.script, "stop", dir.path], timeout: 30) }
            running = false
            var env: [String: String] = [:]
            if let password { env["REGISTRY_PASSWORD"] = password }
            try runChecked(
                "/bin/bash", [Self.script, "start", dir.path] + (auth ? ["--auth"] : []), env: env, timeout: 60)
            running = true
            let newURL = try readTrimmed(dir.appendingPathComponent("url"))
            guard newURL == url else {
                throw FixtureError("registry came back on \(newURL), not \(url) (port was taken)")
            }
        }
    }

    deinit {
        kill()  // fast; the directory goes away with it
        if !keepFixtureDirs { try? FileManager.default.removeItem(at: dir) }
    }
}
