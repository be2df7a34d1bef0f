import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GitOps
import Hummingbird
import HummingbirdTesting
import ManifestorServer
import Testing

/// A server on a real socket over a remote on the real git server, with one token per role.
struct ServerHarness {
    let remote: GitOpsRemote
    let tokens: [String: String]
    let store: TokenStore

    init() throws {
        remote = try GitOpsRemote()
        var tokens: [String: String] = [:]
        var entries: [TokenStore.Entry] = []
        for role in Role.allCases {
            let token = TokenStore.generateToken()
            tokens[role.rawValue] = token
            entries.append(.init(name: "\(role.rawValue)-bot", role: role, sha256: TokenStore.sha256Hex(token)))
        }
        self.tokens = tokens
        store = try TokenStore(entries: entries)
        #expect(try remote.manifestor(["init", "--config", remote.config().path]).status == 0)
    }

    /// Writes the tokens file of `store` (names, roles, SHA-256 only) into the remote's work
    /// folder, for `manifestor serve` processes; returns its path.
    func writeTokensFile() throws -> URL {
        let file = remote.work.appendingPathComponent("tokens.yaml")
        try ("tokens:\n" + store.entries.map { "  - {name: \($0.name), role: \($0.role.rawValue), sha256: \($0.sha256)}" }.joined(separator: "\n") + "\n")
            .write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Runs the app on 127.0.0.1 with an OS-chosen port and hands `body` a client for it;
    /// `extraConfig` is added to the config file (more sections, such as `argocd:`).
    func withServer<T: Sendable>(extraConfig: String = "", _ body: @Sendable (APIClient, ManifestorService) async throws -> T) async throws -> T {
        let config = try ManifestorConfig.load(path: remote.config(name: "server", cache: "server-cache", extra: extraConfig).path)
        let (app, service) = try buildApplication(ServerOptions(config: config, host: "127.0.0.1", port: 0, tokens: store))
        return try await app.test(.live) { client in
            let port = try #require(client.port)
            return try await body(APIClient(base: URL(string: "http://127.0.0.1:\(port)")!), service)
        }
    }
}

/// A plain HTTP client, so requests run truly concurrently over many connections.
struct APIClient: Sendable {
    let base: URL

    struct Answer: Sendable {
        var status: Int
        var data: Data
        var headers: [String: String]
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] }
        var errorCode: String? { (json?["error"] as? [String: Any])?["code"] as? String }
    }

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 128
        configuration.timeoutIntervalForRequest = 120
        return URLSession(configuration: configuration)
    }()

    func send(_ method: String, _ path: String, token: String? = nil, body: Data? = nil, headers extra: [String: String] = [:]) async throws -> Answer {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        for (name, value) in extra { request.setValue(value, forHTTPHeaderField: name) }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await Self.session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
        return Answer(status: http.statusCode, data: data, headers: headers)
    }

    func send(_ method: String, _ path: String, token: String? = nil, json: String) async throws -> Answer {
        try await send(method, path, token: token, body: Data(json.utf8))
    }
}

@Suite("HTTP API", .serialized)
struct ServerTests {
    static let deployBody = #"{"images": {"backend": "git.fuq.tv/admin/aiworker-backend:pr-5"}, "requestedBy": "aiworker-backend"}"#

    @Test("deploy, identical re-deploy, get, list, delete, 404")
    func previewLifecycle() async throws {
        let h = try ServerHarness()
        let deployer = h.tokens["deployer"]!, reader = h.tokens["reader"]!
        try await h.withServer { api, _ in
            let created = try await api.send("POST", "/api/tasks/abc123/deploy-preview", token: deployer, json: Self.deployBody)
            #expect(created.status == 201, "\(String(decoding: created.data, as: UTF8.self))")
            let json = try #require(created.json)
            #expect(json["taskId"] as? String == "abc123")
            #expect(json["namespace"] as? String == "preview-task-abc123")
            #expect(json["url"] as? String == "https://task-abc123.r.fuq.tv")
            #expect(json["path"] as? String == "preview/task-abc123")
            #expect(json["changed"] as? Bool == true)
            #expect(json["expiresAt"] as? String != nil)
            let commit = try #require(json["commit"] as? String)
            #expect(h.remote.tip == commit)

            let again = try await api.send("POST", "/api/tasks/abc123/deploy-preview", token: deployer, json: Self.deployBody)
            #expect(again.status == 200)
            #expect(again.json?["changed"] as? Bool == false)
            #expect(again.json?["commit"] as? String == commit)
            #expect(h.remote.tip == commit, "no new commit")

            let got = try await api.send("GET", "/api/tasks/abc123/preview", token: reader)
            #expect(got.status == 200)
            #expect((got.json?["images"] as? [String: String])?["backend"] == "git.fuq.tv/admin/aiworker-backend:pr-5")

            let list = try await api.send("GET", "/api/previews", token: reader)
            #expect(list.status == 200)
            #expect(list.json?["count"] as? Int == 1)

            let deleted = try await api.send("DELETE", "/api/tasks/abc123/preview", token: deployer)
            #expect(deleted.status == 200)
            let deleteCommit = try #require(deleted.json?["commit"] as? String)
            #expect(h.remote.tip == deleteCommit)

            for (method, path) in [("GET", "/api/tasks/abc123/preview"), ("DELETE", "/api/tasks/abc123/preview"), ("GET", "/api/tasks/nope/preview")] {
                let missing = try await api.send(method, path, token: deployer)
                #expect(missing.status == 404, "\(method) \(path)")
                #expect(missing.errorCode == "preview_not_found")
            }
            let health = try await api.send("GET", "/healthz")
            #expect(health.status == 200)
            let ready = try await api.send("GET", "/readyz")
            #expect(ready.status == 200)
            let metrics = try await api.send("GET", "/metrics")
            let text = String(decoding: metrics.data, as: UTF8.self)
            for name in ["manifestor_http_requests_total", "manifestor_http_request_duration_seconds", "manifestor_commits_total",
                         "manifestor_pushes_total", "manifestor_push_retries_total", "manifestor_batch_size", "manifestor_live_previews"] {
                #expect(text.contains(name), "metrics lack \(name)")
            }
        }
    }

    @Test("100 concurrent deploy-previews: each 201 with its own commit, all on the remote, far fewer pushes")
    func burstIsBatched() async throws {
        let h = try ServerHarness()
        let deployer = h.tokens["deployer"]!
        let pushesBefore = try h.remote.server.pushCount()
        let answers = try await h.withServer { api, _ in
            try await withThrowingTaskGroup(of: (Int, APIClient.Answer).self) { group in
                for i in 0..<100 {
                    group.addTask { (i, try await api.send("POST", "/api/tasks/burst-\(i)/deploy-preview", token: deployer, json: Self.deployBody)) }
                }
                var out: [(Int, APIClient.Answer)] = []
                for try await a in group { out.append(a) }
                return out
            }
        }
        #expect(answers.count == 100)
        var commits = Set<String>()
        for (i, answer) in answers {
            #expect(answer.status == 201, "task \(i): \(String(decoding: answer.data, as: UTF8.self))")
            if let c = answer.json?["commit"] as? String { commits.insert(c) }
        }
        #expect(commits.count == 100, "each answer carries its own commit")
        let tree = try h.remote.git(["ls-tree", "-d", "--name-only", "main:preview"])
        let dirs = Set(tree.split(separator: "\n").map(String.init))
        #expect(dirs == Set((0..<100).map { "task-burst-\($0)" }))
        let log = Set(try h.remote.git(["rev-list", "main"]).split(separator: "\n").map(String.init))
        #expect(commits.isSubset(of: log))
        let pushes = try h.remote.server.pushCount() - pushesBefore
        print("burst of 100 deploy-previews: \(pushes) pushes")
        #expect(pushes <= 25, "pushes: \(pushes)")
    }

    @Test("auth: no token 401, unknown token 401, reader deploying 403, deployer promoting 403")
    func authMatrix() async throws {
        let h = try ServerHarness()
        let before = h.remote.tip
        try await h.withServer { api, _ in
            let none = try await api.send("POST", "/api/tasks/a1/deploy-preview", json: Self.deployBody)
            #expect(none.status == 401)
            #expect(none.errorCode == "unauthorized")
            let unknown = try await api.send("POST", "/api/tasks/a1/deploy-preview", token: "mf_not-a-token", json: Self.deployBody)
            #expect(unknown.status == 401)
            let reader = try await api.send("POST", "/api/tasks/a1/deploy-preview", token: h.tokens["reader"], json: Self.deployBody)
            #expect(reader.status == 403)
            #expect(reader.errorCode == "forbidden")
            let promote = try await api.send("POST", "/api/promote", token: h.tokens["deployer"], json: #"{"from": "staging", "to": "production"}"#)
            #expect(promote.status == 403)
            let rollback = try await api.send("POST", "/api/environments/production/rollback", token: h.tokens["deployer"], json: #"{"to": "previous"}"#)
            #expect(rollback.status == 403)
            let readerList = try await api.send("GET", "/api/previews", token: h.tokens["reader"])
            #expect(readerList.status == 200)
        }
        #expect(h.remote.tip == before)
    }

    static let badRequests: [(String, String, Int)] = [
        ("/api/tasks/abc/deploy-preview", "{not json", 400),
        ("/api/tasks/abc/deploy-preview", "[1, 2]", 400),
        ("/api/tasks/abc/deploy-preview", #"{"images": {"backend": "x/y:1"}, "colour": "blue"}"#, 400),
        ("/api/tasks/abc/deploy-preview", #"{"ttl": "7d"}"#, 400),
        ("/api/tasks/abc/deploy-preview", #"{"images": {}}"#, 400),
        ("/api/tasks/abc/deploy-preview", #"{"images": {"backend": 5}}"#, 400),
        ("/api/tasks/abc/deploy-preview", #"{"images": {"database": "x/y:1"}}"#, 422),
        ("/api/tasks/abc/deploy-preview", #"{"images": {"backend": "Git.fuq.tv/Admin/x:1"}}"#, 422),
        ("/api/tasks/abc/deploy-preview", #"{"images": {"backend": "x/y:1\nImage: evil"}}"#, 422),
        ("/api/tasks/abc/deploy-preview", #"{"images": {"backend": "x/y:1"}, "ttl": "400d"}"#, 400),
        ("/api/tasks/abc/deploy-preview", #"{"images": {"backend": "x/y:1"}, "requestedBy": "a\nRequested-By: root"}"#, 400),
        ("/api/tasks/ABC/deploy-preview", Self.deployBody, 400),
        ("/api/tasks/a_b/deploy-preview", Self.deployBody, 400),
        ("/api/tasks/-x/deploy-preview", Self.deployBody, 400),
        ("/api/tasks/%2E%2E%2Fx/deploy-preview", Self.deployBody, 400),
        ("/api/tasks/\(String(repeating: "a", count: 41))/deploy-preview", Self.deployBody, 400),
    ]

    @Test("bad input gets a 4xx with a JSON error body and makes no commit")
    func badInput() async throws {
        let h = try ServerHarness()
        let before = h.remote.tip
        let deployer = h.tokens["deployer"]!
        try await h.withServer { api, _ in
            for (path, body, status) in Self.badRequests {
                let answer = try await api.send("POST", path, token: deployer, json: body)
                #expect(answer.status == status, "\(path) \(body): \(answer.status) \(String(decoding: answer.data, as: UTF8.self))")
                #expect(answer.errorCode != nil, "\(path) \(body)")
                let message = (answer.json?["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(!message.isEmpty && !message.contains("\n"))
            }
            let huge = Data(("{\"images\": {\"backend\": \"" + String(repeating: "a", count: 10 * 1024 * 1024) + "\"}}").utf8)
            let tooLarge = try await api.send("POST", "/api/tasks/abc/deploy-preview", token: deployer, body: huge)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.errorCode == "body_too_large")
        }
        #expect(h.remote.tip == before, "nothing was committed")
    }

    @Test("/openapi.yaml is openapi.yaml byte for byte, passes openapi-spec-validator and names every registered route")
    func openAPI() async throws {
        let h = try ServerHarness()
        let (served, routes) = try await h.withServer { api, service in
            let answer = try await api.send("GET", "/openapi.yaml")
            #expect(answer.status == 200)
            let routes = registeredRoutes(buildRouter(service: service, tokens: h.store)).map { "\($0.method) \($0.path)" }
            return (answer.data, routes)
        }
        let committed = try Data(contentsOf: repoRoot().appendingPathComponent("openapi.yaml"))
        #expect(served == committed, "openapi.yaml differs from what the server serves: run manifestor openapi > openapi.yaml")
        let spec = String(decoding: served, as: UTF8.self)
        // The aiworker routes' service enums name exactly the services of templates/.
        let services = try RenderFixtures.catalog().services.map(\.name)
        let enums = spec.split(separator: "\n").filter { $0.contains("enum: [") && !$0.contains("staging") }
        #expect(!enums.isEmpty && enums.allSatisfy { $0.hasSuffix("enum: [\(services.joined(separator: ", "))]") }, "\(enums)")
        let file = h.remote.work.appendingPathComponent("openapi.yaml")
        try spec.write(to: file, atomically: true, encoding: .utf8)
        let validator = repoRoot().appendingPathComponent(".venv/bin/openapi-spec-validator").path
        let result = try run(validator, [file.path])
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        // Every route the server registers is documented, with the same method.
        let script = """
        import sys, yaml
        spec = yaml.safe_load(open(sys.argv[1]))
        for path, item in spec["paths"].items():
            for method in item:
                print(method.upper(), path)
        """
        let listed = try run(repoRoot().appendingPathComponent(".venv/bin/python").path, ["-c", script, file.path])
        let documented = Set(listed.stdout.split(separator: "\n").map(String.init))
        #expect(!routes.isEmpty)
        for route in routes {
            // Staging is the one environment that deploys: the router takes `{env}` there, the spec names it.
            let normalised = route.replacingOccurrences(of: "/environments/{env}/deploy", with: "/environments/staging/deploy")
            #expect(documented.contains(normalised), "route \(route) is not in /openapi.yaml")
        }
    }
}
