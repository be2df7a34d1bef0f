import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `manifestor serve` as a separate process, stopped with a real signal.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let log: URL
    private(set) var port = 0

    /// `environment` is added to this process's own.
    init(config: String, log: URL, arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.log = log
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: RenderFixtures.manifestor)
        process.arguments = ["serve", "--config", config, "--listen", "127.0.0.1:0"] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.currentDirectoryURL = repoRoot()
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try withTerminationSignalsUnblocked { try process.run() }
        // Bounded wait for the "listening on" line that carries the port.
        for _ in 0..<300 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: "listening on 127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                port = Int(digits) ?? 0
                if port > 0 { return }
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        process.terminate()
        throw FixtureError("manifestor serve did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    var api: APIClient { APIClient(base: URL(string: "http://127.0.0.1:\(port)")!) }

    /// Waits (bounded) for the process to exit and returns its status.
    func waitForExit(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate() } }
}

@Suite("Graceful shutdown", .serialized)
struct ShutdownTests {
    @Test("SIGTERM during a burst: every answered request is on the remote, nothing half-written")
    func sigtermDuringBurst() async throws {
        let h = try ServerHarness()
        let deployer = h.tokens["deployer"]!
        let tokensFile = try h.writeTokensFile()
        let config = try h.remote.config(name: "serve", cache: "serve-cache", extra: "server: {tokensFile: \(tokensFile.path)}\n").path
        let server = try ServeProcess(config: config, log: h.remote.work.appendingPathComponent("serve.log"))
        let api = server.api

        let answered = try await withThrowingTaskGroup(of: (Int, APIClient.Answer?).self) { group in
            for i in 0..<60 {
                group.addTask {
                    let answer = try? await api.send("POST", "/api/tasks/term-\(i)/deploy-preview", token: deployer, json: ServerTests.deployBody)
                    return (i, answer)
                }
            }
            var out: [(Int, APIClient.Answer?)] = []
            var signalled = false
            for try await result in group {
                out.append(result)
                if !signalled, result.1?.status == 201 {
                    // The first answer is in; more are queued or in flight.
                    signalled = true
                    kill(server.process.processIdentifier, SIGTERM)
                }
            }
            return out
        }
        let status = server.waitForExit(seconds: 60)
        #expect(status == 0, "serve exited with \(String(describing: status)): \((try? String(contentsOf: server.log, encoding: .utf8)) ?? "")")

        let accepted = answered.compactMap { (i, a) -> (Int, String)? in
            guard let a, a.status == 201, let c = a.json?["commit"] as? String else { return nil }
            return (i, c)
        }
        #expect(accepted.count >= 1)
        let history = Set(try h.remote.git(["rev-list", "main"]).split(separator: "\n").map(String.init))
        let dirs = Set(try h.remote.git(["ls-tree", "-d", "--name-only", "main:preview"]).split(separator: "\n").map(String.init))
        for (i, commit) in accepted {
            #expect(history.contains(commit), "answered commit of task term-\(i) is on the remote")
            #expect(dirs.contains("task-term-\(i)"))
        }
        // Nothing half-written: every preview directory on the remote is a complete render.
        for dir in dirs where dir.hasPrefix("task-term-") {
            let files = try h.remote.git(["ls-tree", "--name-only", "main:preview/\(dir)"])
            for name in ["namespace-preview-\(dir).yaml", "deployment-backend.yaml", "deployment-frontend.yaml", "ingress-preview-\(dir).yaml", "job-smoke-test.yaml"] {
                #expect(files.contains(name), "\(dir) lacks \(name)")
            }
        }
        let fsck = try run("git", ["--git-dir", h.remote.server.bareRepoPath(h.remote.repoName).path, "fsck", "--strict"], env: h.remote.server.gitEnvironment)
        #expect(fsck.status == 0, "\(fsck.stderr)")
        print("SIGTERM during a burst of 60: \(accepted.count) answered 201, \(answered.count - accepted.count) refused or cut off")
    }
}
