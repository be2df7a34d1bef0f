import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// One definition of every answer, one render per deploy (the architecture's promises that a
/// client can see).
@Suite("Answers and renders", .serialized)
struct AnswerTests {
    static let image = "git.fuq.tv/admin/aiworker-backend:pr-7"

    /// `manifestor_renders_total` of a running server.
    static func renders(_ api: APIClient) async throws -> Int {
        let metrics = String(decoding: try await api.send("GET", "/metrics").data, as: UTF8.self)
        let line = try #require(metrics.split(separator: "\n").first { $0.hasPrefix("manifestor_renders_total ") })
        return try #require(Int(line.split(separator: " ")[1]))
    }

    @Test("a deploy-preview renders its preview once, a re-deploy once more")
    func oneRenderPerDeploy() async throws {
        let r = try Replicas()
        defer { r.stop() }
        let before = try await Self.renders(r.a.api)
        let first = try await r.a.api.send("POST", "/api/tasks/once/deploy-preview", token: r.deployer,
                                          json: #"{"images": {"backend": "\#(Self.image)"}}"#)
        #expect(first.status == 201)
        #expect(try await Self.renders(r.a.api) == before + 1)
        let again = try await r.a.api.send("POST", "/api/tasks/once/deploy-preview", token: r.deployer,
                                          json: #"{"images": {"backend": "\#(Self.image)"}}"#)
        #expect(again.status == 200)
        #expect(try await Self.renders(r.a.api) == before + 2)
    }

    @Test("the CLI's --json and the API answer the same bytes for the same operation")
    func sameAnswerOnBothSurfaces() async throws {
        let r = try Replicas()
        defer { r.stop() }
        let body = #"{"images": {"backend": "\#(Self.image)"}}"#
        #expect(try await r.a.api.send("POST", "/api/tasks/both/deploy-preview", token: r.deployer, json: body).status == 201)
        let api = try await r.a.api.send("POST", "/api/tasks/both/deploy-preview", token: r.deployer, json: body)
        #expect(api.status == 200)
        let cli = try r.cli(["deploy-preview", "both", "--image", "backend=\(Self.image)", "--json"])
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stdout == String(decoding: api.data, as: UTF8.self) + "\n")

        let staging = #"{"images": {"frontend": "git.fuq.tv/admin/aiworker-frontend:s1"}}"#
        #expect(try await r.a.api.send("POST", "/api/environments/staging/deploy", token: r.deployer, json: staging).status == 201)
        let stagedAPI = try await r.a.api.send("POST", "/api/environments/staging/deploy", token: r.deployer, json: staging)
        let stagedCLI = try r.cli(["deploy", "staging", "--image", "frontend=git.fuq.tv/admin/aiworker-frontend:s1", "--json"])
        #expect(stagedCLI.status == 0, "\(stagedCLI.stderr)")
        #expect(stagedCLI.stdout == String(decoding: stagedAPI.data, as: UTF8.self) + "\n")

        // Deleting answers the preview that was removed, with the commit that removed it.
        let deleted = try r.cli(["delete-preview", "both", "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(deleted.stdout.utf8)) as? [String: Any])
        #expect(json["changed"] as? Bool == true)
        #expect(json["commit"] as? String == r.remote.tip)
        #expect(json["taskId"] as? String == "both")
    }
}
