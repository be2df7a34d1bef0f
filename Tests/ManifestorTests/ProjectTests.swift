import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The project registry and previews of every project, through two replicas on one remote.
@Suite("Projects", .serialized)
struct ProjectTests {
    static let shop = #"""
    {"services": {
       "web": {"port": 8080, "path": "/", "healthPath": "/healthz", "env": {"MODE": "preview"},
               "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}},
       "api": {"port": 9000, "path": "/api", "defaultImage": "git.fuq.tv/shop/api:main"}},
     "environments": {"preview": {"defaultTTL": "2d"}}}
    """#

    @Test("register shop through A, read it through B, deploy previews of shop and aiworker, list by project, delete")
    func registryAndPreviews() async throws {
        let r = try Replicas()
        defer { r.stop() }
        let registered = try await r.a.api.send("PUT", "/api/projects/shop", token: r.deployer, json: Self.shop)
        #expect(registered.status == 201, "\(String(decoding: registered.data, as: UTF8.self))")
        #expect(registered.json?["commit"] as? String == r.remote.tip)
        let file = try #require(r.remoteFile("projects/shop.yaml"))
        #expect(file.contains("web:") && file.contains("port: 8080") && file.contains("defaultTTL: 2d"), "\(file)")
        // The same document again: nothing to commit, on either replica.
        let tip = r.remote.tip
        let again = try await r.b.api.send("PUT", "/api/projects/shop", token: r.deployer, json: Self.shop)
        #expect(again.status == 200)
        #expect(again.json?["changed"] as? Bool == false)
        #expect(r.remote.tip == tip)

        // B sees the project without a restart.
        let read = try await r.b.api.send("GET", "/api/projects/shop", token: r.h.tokens["reader"]!)
        #expect(read.status == 200)
        #expect(((read.json?["services"] as? [String: Any])?.keys.sorted()) == ["api", "web"])
        let list = try await r.b.api.send("GET", "/api/projects", token: r.h.tokens["reader"]!)
        #expect((list.json?["projects"] as? [[String: Any]])?.compactMap { $0["project"] as? String } == ["aiworker", "shop"])

        // A preview of shop (web given, api from its default) and one of aiworker.
        let preview = try await r.b.api.send("POST", "/api/tasks/sh1/deploy-preview", token: r.deployer,
                                             json: #"{"project": "shop", "images": {"web": "git.fuq.tv/shop/web:pr-3"}}"#)
        #expect(preview.status == 201, "\(String(decoding: preview.data, as: UTF8.self))")
        #expect(preview.json?["project"] as? String == "shop")
        #expect((preview.json?["images"] as? [String: String]) == ["web": "git.fuq.tv/shop/web:pr-3", "api": "git.fuq.tv/shop/api:main"])
        let web = try #require(r.remoteFile("preview/task-sh1/deployment-web.yaml"))
        #expect(web.contains("aiworker.dev/project: shop"))
        #expect(r.remoteFile("preview/task-sh1/deployment-backend.yaml") == nil)
        let message = try r.remote.git(["log", "-1", "--format=%B", "main"])
        #expect(message.contains("Project: shop"))
        #expect(try await r.a.api.send("POST", "/api/tasks/ai1/deploy-preview", token: r.deployer,
                                       json: #"{"images": {"backend": "git.fuq.tv/admin/aiworker-backend:pr-1"}}"#).status == 201)
        let shops = try await r.a.api.send("GET", "/api/previews?project=shop", token: r.h.tokens["reader"]!)
        #expect((shops.json?["previews"] as? [[String: Any]])?.compactMap { $0["taskId"] as? String } == ["sh1"])
        // Images must name the project's services.
        let wrong = try await r.a.api.send("POST", "/api/tasks/sh2/deploy-preview", token: r.deployer,
                                           json: #"{"project": "shop", "images": {"backend": "git.fuq.tv/admin/aiworker-backend:pr-1"}}"#)
        #expect(wrong.status == 422)
        #expect(wrong.errorCode == "unknown_service")
        let unknown = try await r.a.api.send("POST", "/api/tasks/sh2/deploy-preview", token: r.deployer,
                                             json: #"{"project": "nope", "images": {"web": "git.fuq.tv/shop/web:pr-3"}}"#)
        #expect(unknown.status == 404)
        #expect(unknown.errorCode == "project_not_found")

        // A project in use cannot go; once its previews are gone it can.
        let inUse = try await r.b.api.send("DELETE", "/api/projects/shop", token: r.deployer)
        #expect(inUse.status == 409)
        #expect(inUse.errorCode == "project_in_use")
        #expect(try await r.a.api.send("DELETE", "/api/tasks/sh1/preview", token: r.deployer).status == 200)
        let deleted = try await r.b.api.send("DELETE", "/api/projects/shop", token: r.deployer)
        #expect(deleted.status == 200, "\(String(decoding: deleted.data, as: UTF8.self))")
        #expect(r.remoteFile("projects/shop.yaml") == nil)
        #expect(try await r.a.api.send("GET", "/api/projects/shop", token: r.h.tokens["reader"]!).status == 404)
        #expect(r.remoteFile("preview/task-ai1/deployment-backend.yaml") != nil, "aiworker's preview is untouched")
    }

    @Test("bad documents and names are refused naming the field, and change nothing")
    func badDocuments() async throws {
        let r = try Replicas()
        defer { r.stop() }
        let tip = r.remote.tip
        let cases: [(path: String, body: String, status: Int, code: String, says: String)] = [
            ("/api/projects/shop", #"{"services": {"web": {"port": 70000}}}"#, 422, "invalid_catalog", "services.web: port"),
            ("/api/projects/shop", #"{"services": {"web": {"port": 80, "colour": "red"}}}"#, 422, "invalid_catalog", "colour"),
            ("/api/projects/shop", #"{"services": {"Web_1": {"port": 80}}}"#, 422, "invalid_catalog", "Web_1"),
            ("/api/projects/shop", #"{"services": {}}"#, 422, "invalid_catalog", "services"),
            ("/api/projects/shop", #"{"services": {"web": {"port": 80}}, "extra": 1}"#, 400, "unknown_field", "extra"),
            ("/api/projects/Shop_", #"{"services": {"web": {"port": 80}}}"#, 400, "invalid_project", "project"),
            ("/api/projects/aiworker", #"{"services": {"web": {"port": 80}}}"#, 422, "project_built_in", "project"),
        ]
        for c in cases {
            let answer = try await r.a.api.send("PUT", c.path, token: r.deployer, json: c.body)
            let message = ((answer.json?["error"] as? [String: Any])?["message"] as? String) ?? ""
            #expect(answer.status == c.status, "\(c.body): \(String(decoding: answer.data, as: UTF8.self))")
            #expect(answer.errorCode == c.code, "\(c.body): \(message)")
            #expect(message.contains(c.says), "\(c.body): \(message)")
        }
        #expect(try await r.a.api.send("DELETE", "/api/projects/aiworker", token: r.deployer).status == 422)
        #expect(try await r.a.api.send("DELETE", "/api/projects/absent", token: r.deployer).status == 404)
        #expect(r.remote.tip == tip, "nothing was committed")
        #expect(try r.remote.git(["ls-tree", "-r", "--name-only", "main"]).contains("projects/") == false)
    }
}
