import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GitOps
import ManifestorServer
import Testing

@Suite("Observability", .serialized)
struct ObservabilityTests {
    /// Writes the harness's tokens into a tokens file and a config serving with it.
    static func serveConfig(_ h: ServerHarness, extra: String = "") throws -> String {
        let tokensFile = try h.writeTokensFile()
        return try h.remote.config(name: "serve", cache: "serve-cache", extra: "server: {tokensFile: \(tokensFile.path)\(extra)}\n").path
    }

    @Test("serve --log-format json: every line is a JSON object; the request id is echoed, on the route line and on its batch's push line")
    func jsonLogsCarryRequestID() async throws {
        let h = try ServerHarness()
        let server = try ServeProcess(config: try Self.serveConfig(h), log: h.remote.work.appendingPathComponent("serve.log"),
                                      arguments: ["--log-format", "json"])
        let deployer = h.tokens["deployer"]!
        let answer = try await server.api.send("POST", "/api/tasks/obs1/deploy-preview", token: deployer, body: Data(ServerTests.deployBody.utf8),
                                               headers: ["X-Request-Id": "test-req-1"])
        #expect(answer.status == 201, "\(String(decoding: answer.data, as: UTF8.self))")
        #expect(answer.headers["x-request-id"] == "test-req-1")
        // No id, or one that is not sane: the server makes one.
        let plain = try await server.api.send("GET", "/healthz")
        let generated = try #require(plain.headers["x-request-id"])
        #expect(RequestID.isSane(generated) && generated.count == 32)
        let insane = try await server.api.send("GET", "/healthz", headers: ["X-Request-Id": "two words"])
        #expect(insane.headers["x-request-id"] != "two words" && RequestID.isSane(insane.headers["x-request-id"] ?? ""))
        kill(server.process.processIdentifier, SIGTERM)
        #expect(server.waitForExit(seconds: 30) == 0)

        let lines = try String(contentsOf: server.log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 3)
        var objects: [[String: Any]] = []
        for line in lines {
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            guard let object else { continue }
            for key in ["time", "level", "message", "label"] { #expect(object[key] is String, "no \(key) in \(line)") }
            #expect(object["metadata"] is [String: Any], "no metadata in \(line)")
            objects.append(object)
        }
        func metadata(_ o: [String: Any]) -> [String: Any] { o["metadata"] as? [String: Any] ?? [:] }
        let route = objects.filter { $0["message"] as? String == "request" && metadata($0)["request_id"] as? String == "test-req-1" }
        #expect(route.count == 1, "no route line with the request id")
        #expect(metadata(route.first ?? [:])["status"] as? String == "201")
        let pushed = objects.filter { $0["message"] as? String == "pushed" }
        #expect(pushed.contains { (metadata($0)["request_ids"] as? [String] ?? []).contains("test-req-1") },
                "no push line lists test-req-1: \(pushed)")
    }

    @Test("server.logFormat is checked: json and text, nothing else")
    func logFormatConfig() throws {
        let h = try ServerHarness()
        let good = try ManifestorConfig.load(path: try Self.serveConfig(h, extra: ", logFormat: json"))
        #expect(good.server.logFormat == "json")
        #expect(throws: (any Error).self) { try ManifestorConfig.load(path: try Self.serveConfig(h, extra: ", logFormat: xml")) }
        let bad = try h.remote.manifestor(["serve", "--config", try Self.serveConfig(h), "--log-format", "xml"])
        #expect(bad.status != 0)
    }

    @Test("/metrics: the new series with their TYPE; live previews follow a deploy without anyone listing")
    func metricsSeries() async throws {
        let h = try ServerHarness()
        let deployer = h.tokens["deployer"]!
        try await h.withServer { api, _ in
            func scrape() async throws -> String { String(decoding: try await api.send("GET", "/metrics").data, as: UTF8.self) }
            func value(_ text: String, _ series: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            let before = try await scrape()
            for (name, type) in [("manifestor_push_duration_seconds", "histogram"), ("manifestor_fetch_duration_seconds", "histogram"),
                                 ("manifestor_operation_failures_total", "counter"), ("manifestor_queue_depth", "gauge"),
                                 ("manifestor_live_previews", "gauge"), ("manifestor_build_info", "gauge")] {
                #expect(before.contains("# TYPE \(name) \(type)\n"), "no TYPE line for \(name)")
            }
            #expect(before.contains(#"manifestor_operation_failures_total{kind="unavailable"} 0"#))
            let info = BuildInfo.current()
            #expect(before.contains(#"manifestor_build_info{version="\#(info.version)",commit="\#(info.commit)",libgit2="\#(info.libgit2)"} 1"#), "\(before)")
            let previews = value(before, "manifestor_live_previews") ?? 0

            for id in ["m1", "m2"] {
                let created = try await api.send("POST", "/api/tasks/\(id)/deploy-preview", token: deployer, json: ServerTests.deployBody)
                #expect(created.status == 201)
            }
            let deleted = try await api.send("DELETE", "/api/tasks/nothere/preview", token: deployer)
            let after = try await scrape()
            #expect(value(after, "manifestor_live_previews") == previews + 2, "\(after)")
            #expect(value(after, "manifestor_push_duration_seconds_count").map { $0 >= 1 } == true)
            #expect(value(after, "manifestor_fetch_duration_seconds_count").map { $0 >= 1 } == true)
            if deleted.status == 404 {
                #expect(after.contains(#"manifestor_operation_failures_total{kind="not_found"} 1"#), "\(after)")
            }
            #expect(value(after, "manifestor_queue_depth") == 0)
        }
    }

    @Test("manifestor --version and GET /version: version, commit, libgit2")
    func version() async throws {
        let cli = try run(RenderFixtures.manifestor, ["--version"], env: ["MANIFESTOR_COMMIT": "abcdef1234567"])
        #expect(cli.status == 0)
        #expect(cli.stdout.contains("\(BuildInfo.version) (commit abcdef1234567, libgit2 "), "\(cli.stdout)")
        let unknown = try run(RenderFixtures.manifestor, ["--version"], env: ["MANIFESTOR_COMMIT": "not a commit"])
        #expect(unknown.stdout.contains("commit unknown"))

        let h = try ServerHarness()
        try await h.withServer { api, _ in
            let answer = try await api.send("GET", "/version")
            #expect(answer.status == 200)
            let json = try #require(answer.json)
            #expect(Set(json.keys) == ["version", "commit", "libgit2"])
            #expect(json["version"] as? String == BuildInfo.version)
            let libgit2 = try #require(json["libgit2"] as? String)
            #expect(libgit2.split(separator: ".").count == 3 && libgit2.split(separator: ".").allSatisfy { Int($0) != nil })
        }
    }

    @Test("401 names the Bearer scheme; a wrong method on a known path is 405 with Allow; unknown paths stay 404")
    func httpSemantics() async throws {
        let h = try ServerHarness()
        let reader = h.tokens["reader"]!
        try await h.withServer { api, _ in
            let noToken = try await api.send("GET", "/api/previews")
            #expect(noToken.status == 401)
            #expect(noToken.headers["www-authenticate"] == "Bearer")
            #expect(noToken.headers["x-request-id"] != nil)
            let wrongToken = try await api.send("GET", "/api/previews", token: "wrong")
            #expect(wrongToken.status == 401 && wrongToken.headers["www-authenticate"] == "Bearer")

            let list = try await api.send("DELETE", "/api/previews", token: reader)
            #expect(list.status == 405)
            #expect(list.headers["allow"] == "GET")
            #expect(list.errorCode == "method_not_allowed")
            let project = try await api.send("PATCH", "/api/projects/web")
            #expect(project.status == 405)
            #expect(project.headers["allow"] == "DELETE, GET, PUT")
            let health = try await api.send("POST", "/healthz")
            #expect(health.status == 405 && health.headers["allow"] == "GET")

            #expect(try await api.send("GET", "/api/nothing/here").status == 404)
            // A route's own 404 (no such preview) is not turned into a 405.
            #expect(try await api.send("GET", "/api/tasks/nosuch/preview", token: reader).status == 404)
            let echoed = try await api.send("GET", "/healthz", headers: ["X-Request-Id": "abc.DEF_123-x"])
            #expect(echoed.headers["x-request-id"] == "abc.DEF_123-x")
        }
    }

    @Test("deploy/prometheusrule-manifestor.yaml: its rule groups pass promtool check rules")
    func prometheusRules() throws {
        let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let promtool else {
            Issue.record("promtool is missing: run scripts/setup.sh (it installs Debian's prometheus package, which provides promtool)")
            return
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let rules = work.appendingPathComponent("rules.yaml")
        let script = """
        import sys, yaml
        doc = yaml.safe_load(open(sys.argv[1]))
        assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule", "not a PrometheusRule"
        yaml.safe_dump({"groups": doc["spec"]["groups"]}, open(sys.argv[2], "w"))
        """
        let source = repoRoot().appendingPathComponent("deploy/prometheusrule-manifestor.yaml").path
        let extracted = try run(repoRoot().appendingPathComponent(".venv/bin/python").path, ["-c", script, source, rules.path])
        #expect(extracted.status == 0, "\(extracted.stderr)")
        let checked = try run(promtool, ["check", "rules", rules.path])
        #expect(checked.status == 0, "\(checked.stdout) \(checked.stderr)")
        #expect((checked.stdout + checked.stderr).contains("SUCCESS"), "\(checked.stdout) \(checked.stderr)")
    }
}
