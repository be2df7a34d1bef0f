import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Two `manifestor serve` replicas and a CLI writer on one remote, with mixed operations over two
/// projects at random concurrency, each task's operations rotating over the writers; every
/// answer must hold on the remote right after it, and the remote must end as the acknowledged
/// operations say. MANIFESTOR_SOAK_OPS sets the number of operations (default: a bounded 120).
@Suite("Many writers", .serialized)
struct ManyWritersTests {
    enum Writer: Sendable, CustomStringConvertible {
        case serverA, serverB, cli
        var description: String { switch self { case .serverA: "A"; case .serverB: "B"; case .cli: "CLI" } }
    }
    enum Outcome: Sendable, Equatable { case deployed(String), deleted }

    @Test("two servers and a CLI, each task's operations alternating between them: every answer holds on the remote")
    func manyWriters() async throws {
        let operations = Int(ProcessInfo.processInfo.environment["MANIFESTOR_SOAK_OPS"] ?? "") ?? 120
        let replicas = try Replicas()
        let apiA = replicas.a.api, apiB = replicas.b.api, remote = replicas.remote, deployer = replicas.deployer
        let writers: [Writer] = [.serverA, .serverB, .cli]
        // Operations are spread over two projects: AiWorker itself and a registered one.
        let registered = try await apiA.send("PUT", "/api/projects/mwshop", token: deployer,
                                             json: #"{"services": {"web": {"port": 8080, "path": "/"}}}"#)
        #expect(registered.status == 201, "\(String(decoding: registered.data, as: UTF8.self))")
        /// (project, service, image repository) of a task: odd tasks belong to mwshop.
        @Sendable func target(_ task: String) -> (project: String, service: String, repository: String) {
            (Int(task.split(separator: "-").last ?? "") ?? 0) % 2 == 1
                ? ("mwshop", "web", "git.fuq.tv/shop/web") : ("aiworker", "backend", "git.fuq.tv/admin/aiworker-backend")
        }

        // Each task's operations run in order, each on the next writer of the three (so every
        // writer's cache is stale for the task when its turn comes); tasks run concurrently.
        let taskCount = max(6, operations / 5)
        var plans: [(String, Int, [Int])] = []  // (task, first writer, versions): version > 0 deploys it, 0 deletes
        var generator = SystemRandomNumberGenerator()
        var remaining = operations - 10  // 10 staging deploys
        for i in 0..<taskCount {
            let length = i == taskCount - 1 ? max(1, remaining) : min(remaining, Int.random(in: 2...7, using: &generator))
            remaining -= length
            let ops = (0..<length).map { _ in Int.random(in: 0..<4, using: &generator) == 0 ? 0 : Int.random(in: 1...3, using: &generator) }
            plans.append(("mw-\(i)", i % writers.count, ops))
            if remaining <= 0 { break }
        }

        func deploy(_ writer: Writer, _ task: String, _ version: Int) async throws -> Bool {
            let (project, service, repository) = target(task)
            let image = "\(repository):v\(version)"
            switch writer {
            case .cli:
                return try replicas.cli(["deploy-preview", task, "--project", project, "--image", "\(service)=\(image)"]).status == 0
            case .serverA, .serverB:
                let api = writer == .serverA ? apiA : apiB
                let answer = try await api.send("POST", "/api/tasks/\(task)/deploy-preview", token: deployer,
                                                json: #"{"project": "\#(project)", "images": {"\#(service)": "\#(image)"}}"#)
                return answer.status == 200 || answer.status == 201
            }
        }

        func delete(_ writer: Writer, _ task: String) async throws -> Bool {
            switch writer {
            case .cli:
                let r = try replicas.cli(["delete-preview", task])
                return r.status == 0 || r.stderr.contains("no preview")
            case .serverA, .serverB:
                let api = writer == .serverA ? apiA : apiB
                let answer = try await api.send("DELETE", "/api/tasks/\(task)/preview", token: deployer)
                return answer.status == 200 || answer.status == 404
            }
        }

        /// What the remote says of `task` right after an answer: the version it runs, or nil.
        func remoteVersion(_ task: String) -> String? {
            let (_, service, repository) = target(task)
            guard let deployment = replicas.remoteFile("preview/task-\(task)/deployment-\(service).yaml"),
                  let range = deployment.range(of: "\(repository):") else { return nil }
            return String(deployment[range.upperBound...].prefix { $0 != "\n" && $0 != "\"" && $0 != " " })
        }

        let results = try await withThrowingTaskGroup(of: (String, Outcome?, Int, [String]).self) { group in
            for (task, first, ops) in plans {
                group.addTask {
                    var last: Outcome?
                    var failures = 0
                    var wrong: [String] = []
                    for (index, version) in ops.enumerated() {
                        let writer = writers[(first + index) % writers.count]
                        let acknowledged = version == 0 ? try await delete(writer, task) : try await deploy(writer, task, version)
                        guard acknowledged else { failures += 1; continue }
                        last = version == 0 ? .deleted : .deployed("v\(version)")
                        // No other writer touches this task: the answer must hold on the remote now.
                        let now = remoteVersion(task)
                        let expected = version == 0 ? nil : "v\(version)"
                        if now != expected {
                            wrong.append("op \(index) (\(writer), \(expected ?? "delete")) answered, remote has \(now ?? "nothing")")
                        }
                    }
                    return (task, last, failures, wrong)
                }
            }
            group.addTask {
                // Staging deploys alternate between the replicas and between the two projects'
                // staging, in order, X, Y, X, Y: each a no-op on the stale tip of the replica
                // whose turn it is.
                var last: Outcome?
                var failures = 0
                var wrong: [String] = []
                for i in 0..<10 {
                    let api = i % 2 == 0 ? apiA : apiB
                    let (prefix, service, repository) = (i / 2) % 2 == 0
                        ? ("/api", "frontend", "git.fuq.tv/admin/aiworker-frontend") : ("/api/projects/mwshop", "web", "git.fuq.tv/shop/web")
                    let answer = try await api.send("POST", "\(prefix)/environments/staging/deploy", token: deployer,
                                                    json: #"{"images": {"\#(service)": "\#(repository):s\#(i % 2)"}}"#)
                    guard answer.status == 200 || answer.status == 201 else { failures += 1; continue }
                    if service == "frontend" { last = .deployed("s\(i % 2)") }
                    let directory = service == "frontend" ? "aiworker" : "mwshop"
                    if replicas.remoteFile("staging/\(directory)/deployment-\(service).yaml")?.contains("\(repository):s\(i % 2)") != true {
                        wrong.append("staging deploy \(i) of \(directory) answered, the remote runs something else")
                    }
                }
                return ("staging", last, failures, wrong)
            }
            var out: [(String, Outcome?, Int, [String])] = []
            for try await r in group { out.append(r) }
            return out
        }
        replicas.stop()

        for (task, _, failures, wrong) in results {
            #expect(failures == 0, "\(task): \(failures) operations were not acknowledged")
            #expect(wrong.isEmpty, "\(task): \(wrong)")
        }
        let tree = Set(try remote.git(["ls-tree", "-d", "--name-only", "main:preview"]).split(separator: "\n").map(String.init))
        for (task, outcome, _, _) in results where task != "staging" {
            switch outcome {
            case .deployed(let version):
                #expect(tree.contains("task-\(task)"), "\(task) should exist")
                let (_, service, repository) = target(task)
                let deployment = try remote.git(["show", "main:preview/task-\(task)/deployment-\(service).yaml"])
                #expect(deployment.contains("\(repository):\(version)"), "\(task) should run \(version)")
            case .deleted, nil:
                #expect(!tree.contains("task-\(task)"), "\(task) should be gone")
            }
        }
        if case .deployed(let version)? = results.first(where: { $0.0 == "staging" })?.1 {
            #expect(try remote.git(["show", "main:staging/aiworker/deployment-frontend.yaml"]).contains("aiworker-frontend:\(version)"))
        } else {
            Issue.record("no staging deploy was acknowledged")
        }
        #expect(try remote.git(["rev-list", "--merges", "main"]).isEmpty)
        let fsck = try run("git", ["--git-dir", remote.server.bareRepoPath(remote.repoName).path, "fsck", "--strict"], env: remote.server.gitEnvironment)
        #expect(fsck.status == 0)
        print("many writers: \(operations) operations over \(plans.count) tasks; \(try remote.git(["rev-list", "--count", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)) commits")
    }
}
