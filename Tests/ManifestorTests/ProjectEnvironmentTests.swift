import Foundation
import GitOps
import HTTPTypes
import HummingbirdTesting
import KubeModel
import Templates
import Testing

// Issue "Projects", acceptance 1 and 4, against a real smart-HTTP git server and a real registry:
//  1. shop: register, previews of shop and aiworker, staging deploy with a pinned tag, promote,
//     rollback; the remote holds exactly what they wrote and aiworker's directories are untouched
//                                                                   → shopThroughEveryEnvironment
//  4. migrate: one commit from the older layout, writes refused before it, the stories after it
//                                                                   → migrateTheOlderLayout
@Suite("Staging and production of every project", .serialized)
struct ProjectEnvironmentTests {
    static let shop = #"""
    {"services": {
       "web": {"port": 8080, "path": "/", "healthPath": "/healthz", "hosts": {"staging": "staging.shop.example", "production": "shop.example"}},
       "api": {"port": 9000, "path": "/api"}}}
    """#

    /// Pushes `shop-<service>:<tag>` for both services; returns the tag references and the digests.
    static func pushShop(_ world: EnvironmentWorld, tag: String) throws -> (refs: [String: String], digests: [String: String]) {
        var refs: [String: String] = [:], digests: [String: String] = [:]
        for service in ["api", "web"] {
            digests[service] = try world.registry.push(name: "shop-\(service)", tag: tag)
            refs[service] = world.registry.reference(name: "shop-\(service)", tag: tag)
        }
        return (refs, digests)
    }

    static func imagesJSON(_ images: [String: String]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: ["images": images], options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("shop: register, previews, staging with a pinned tag, promote, rollback; aiworker's directories untouched")
    func shopThroughEveryEnvironment() async throws {
        let world = try await EnvironmentWorld.start()
        // aiworker runs in staging and production before shop arrives.
        try await world.deployStaging(tag: "v1")
        _ = try await world.committer().submit(try Promote(from: "staging", to: "production"))
        try await world.withServer { client, tokens in
            let registered = try await APICall.send(client, .put, "/api/projects/shop", token: tokens.deployer, json: Self.shop)
            #expect(registered.status == .created, "\(registered.text)")
            let preview = try await APICall.send(client, .post, "/api/tasks/sh1/deploy-preview", token: tokens.deployer,
                                                 json: #"{"project": "shop", "images": {"web": "git.fuq.tv/shop/web:pr-1", "api": "git.fuq.tv/shop/api:pr-1"}}"#)
            #expect(preview.status == .created, "\(preview.text)")
            let aiPreview = try await APICall.send(client, .post, "/api/tasks/ai1/deploy-preview", token: tokens.deployer,
                                                   json: #"{"images": {"backend": "git.fuq.tv/admin/aiworker-backend:pr-1"}}"#)
            #expect(aiPreview.status == .created, "\(aiPreview.text)")
            let start = try #require(try world.tip())
            let aiworkerTrees = try ["staging/aiworker", "production/aiworker", "preview/task-ai1"].map { try world.treeID("main", $0) }

            // Staging: tags pinned to the registry's digests, in shop-staging.
            let v1 = try Self.pushShop(world, tag: "v1")
            let deploy = try await APICall.send(client, .post, "/api/projects/shop/environments/staging/deploy", token: tokens.deployer,
                                                json: Self.imagesJSON(v1.refs))
            #expect(deploy.status == .created, "\(deploy.text)")
            let staged = try deploy.decode(EnvironmentAnswer.self)
            #expect(staged.project == "shop" && staged.environment == "staging" && staged.path == "staging/shop")
            #expect(staged.images == ["api": "\(world.registry.host)/shop-api@\(v1.digests["api"]!)",
                                      "web": "\(world.registry.host)/shop-web@\(v1.digests["web"]!)"])
            #expect(staged.tags == ["api": "v1", "web": "v1"])
            let web = try world.show("main", "staging/shop/deployment-web.yaml")
            #expect(web.contains("namespace: shop-staging") && web.contains("aiworker.dev/project: shop") && web.contains("aiworker.dev/image-tag: v1"))
            #expect(try world.show("main", "staging/shop/ingress-web.yaml").contains("host: staging.shop.example"))
            #expect(try world.message().hasPrefix("deploy(staging/shop): api@sha256:\(v1.digests["api"]!.dropFirst(7).prefix(7))"))
            #expect(try world.message().contains("Project: shop"))

            // Promote: production gets exactly staging's digests, in shop-production.
            let promoted = try await APICall.send(client, .post, "/api/projects/shop/promote", token: tokens.releaseManager,
                                                  json: #"{"from": "staging", "to": "production"}"#)
            #expect(promoted.status == .created, "\(promoted.text)")
            #expect(try promoted.decode(PromotionAnswer.self).project == "shop")
            let firstRelease = try #require(try world.tip())
            #expect(try world.deploymentImages("main", "production/shop") == staged.images)
            #expect(try world.show("main", "production/shop/deployment-api.yaml").contains("namespace: shop-production"))

            // A second release, then a rollback to the first.
            let v2 = try Self.pushShop(world, tag: "v2")
            #expect(try await APICall.send(client, .post, "/api/projects/shop/environments/staging/deploy", token: tokens.deployer,
                                           json: Self.imagesJSON(v2.refs)).status == .created)
            #expect(try await APICall.send(client, .post, "/api/projects/shop/promote", token: tokens.releaseManager,
                                           json: #"{"from": "staging", "to": "production"}"#).status == .created)
            let rollback = try await APICall.send(client, .post, "/api/projects/shop/environments/production/rollback",
                                                  token: tokens.releaseManager, json: #"{"to": "previous"}"#)
            #expect(rollback.status == .created, "\(rollback.text)")
            #expect(try world.treeID("main", "production/shop") == (try world.treeID(firstRelease, "production/shop")))
            let read = try await APICall.send(client, .get, "/api/projects/shop/environments/production", token: tokens.reader)
            #expect(try read.decode(EnvironmentAnswer.self).images == staged.images)
            let history = try await APICall.send(client, .get, "/api/projects/shop/environments/production/history", token: tokens.reader)
            #expect(try history.decode(HistoryAnswer.self).entries.map(\.operation) == ["rollback", "promote", "promote"])
            // aiworker's older routes still read aiworker.
            let aiworker = try await APICall.send(client, .get, "/api/environments/production", token: tokens.reader)
            #expect(try aiworker.decode(EnvironmentAnswer.self).path == "production/aiworker")
            let shopStaging = try await APICall.send(client, .get, "/api/projects/shop/environments/staging", token: tokens.reader)
            #expect(try shopStaging.decode(EnvironmentAnswer.self).tags == ["api": "v2", "web": "v2"], "\(shopStaging.text)")
            let production = try await APICall.send(client, .post, "/api/projects/shop/environments/production/deploy",
                                                    token: tokens.deployer, json: Self.imagesJSON(v2.refs))
            #expect(production.status == .unprocessableContent && production.errorMessage.contains("/api/projects/shop/promote"))

            // A preview of shop does not promote into aiworker's staging, and does into shop's.
            let mismatch = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager,
                                                  json: #"{"from": "preview/task-sh1", "to": "staging"}"#)
            #expect(mismatch.status == .unprocessableContent)
            #expect(mismatch.errorCode == "project_mismatch")
            // The project has environments: it can't be deleted; an unknown project is a 404.
            let inUse = try await APICall.send(client, .delete, "/api/projects/shop", token: tokens.deployer)
            #expect(inUse.status == .conflict && inUse.errorCode == "project_in_use", "\(inUse.text)")
            let unknown = try await APICall.send(client, .get, "/api/projects/nope/environments/staging", token: tokens.reader)
            #expect(unknown.status == .notFound && unknown.errorCode == "project_not_found", "\(unknown.text)")

            // Exactly what the operations wrote, and aiworker's directories as they were.
            let paths = try world.gitOut(["ls-tree", "-r", "--name-only", "main"]).split(separator: "\n").map(String.init)
            let top = Set(paths.map { path -> String in
                let parts = path.split(separator: "/")
                return parts.count > 2 ? parts.prefix(2).joined(separator: "/") + "/" : path
            })
            #expect(top == ["README.md", "preview/.gitkeep", "staging/.gitkeep", "production/.gitkeep", "projects/shop.yaml",
                            "preview/task-sh1/", "preview/task-ai1/", "staging/shop/", "production/shop/",
                            "staging/aiworker/", "production/aiworker/"], "\(top.sorted())")
            #expect(try ["staging/aiworker", "production/aiworker", "preview/task-ai1"].map { try world.treeID("main", $0) } == aiworkerTrees)
            let touched = try world.gitOut(["log", "--format=", "--name-only", "\(start)..main"]).split(separator: "\n")
            #expect(!touched.isEmpty && touched.allSatisfy { $0.hasPrefix("staging/shop/") || $0.hasPrefix("production/shop/") },
                    "\(touched)")
        }

        // The CLI takes --project on the environment commands.
        let cli = try EnvironmentCLI.run(world, ["history", "staging", "--project", "shop", "--json"])
        #expect(cli.status == 0, "\(cli.stderr)")
        let entries = try JSONDecoder().decode(HistoryAnswer.self, from: Data(cli.stdout.utf8))
        #expect(entries.path == "staging/shop" && entries.entries.map(\.operation) == ["deploy-staging", "deploy-staging"])
        let v3 = try Self.pushShop(world, tag: "v3")
        let deployed = try EnvironmentCLI.run(world, ["deploy", "staging", "--project", "shop", "--image", "web=\(v3.refs["web"]!)"])
        #expect(deployed.status == 0, "\(deployed.stderr)")
        #expect(deployed.stdout.contains(" deploy(staging/shop): web@sha256:\(v3.digests["web"]!.dropFirst(7).prefix(7))"))
        let wrong = try EnvironmentCLI.run(world, ["deploy", "staging", "--project", "shop", "--image", "backend=\(v3.refs["web"]!)"])
        #expect(wrong.status == 1 && wrong.stderr.contains("images.backend"), "\(wrong.stderr)")
    }

    @Test("migrate: writes refuse the older layout with a one-line reason; one commit moves it; the stories work after it")
    func migrateTheOlderLayout() async throws {
        let world = try await EnvironmentWorld.start()
        // The older layout: AiWorker's staging and production directly in staging/ and production/.
        let renderer = Renderer(catalog: world.catalog)
        let stagingImages = ["backend": "git.fuq.tv/admin/aiworker-backend@sha256:\(String(repeating: "1", count: 64))",
                             "frontend": "git.fuq.tv/admin/aiworker-frontend@sha256:\(String(repeating: "2", count: 64))"]
        var files: [String: String?] = [:]
        for (name, yaml) in try renderer.staging(images: stagingImages).files {
            files["staging/\(name)"] = yaml.replacingOccurrences(of: "aiworker-staging", with: "staging")
        }
        for (name, yaml) in try renderer.production(images: stagingImages).files {
            files["production/\(name)"] = yaml.replacingOccurrences(of: "aiworker-production", with: "production")
        }
        let old = try world.git.commitFiles(repo: EnvironmentWorld.repo, files: files, message: "the older layout")

        // Every write refuses, names the command and the fix, and commits nothing.
        try await world.withServer { client, tokens in
            let deploy = try await APICall.send(client, .post, "/api/environments/staging/deploy", token: tokens.deployer,
                                                json: #"{"images": {"backend": "git.fuq.tv/admin/aiworker-backend@sha256:\#(String(repeating: "3", count: 64))"}}"#)
            #expect(deploy.status == .conflict && deploy.errorCode == "older_layout", "\(deploy.text)")
            #expect(deploy.errorMessage.hasPrefix("deploy-staging: ") && deploy.errorMessage.contains("manifestor migrate"))
            let preview = try await APICall.send(client, .post, "/api/tasks/t1/deploy-preview", token: tokens.deployer,
                                                 json: #"{"images": {"backend": "git.fuq.tv/admin/aiworker-backend:pr-1"}}"#)
            #expect(preview.status == .conflict && preview.errorCode == "older_layout")
        }
        let refused = try EnvironmentCLI.run(world, ["promote", "staging", "production"])
        #expect(refused.status == 1 && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("promote: the repository is in the older layout") && refused.stderr.contains("manifestor migrate"))
        #expect(try world.tip() == old)

        // One commit moves both environments, re-rendered into aiworker-staging and aiworker-production.
        let migrated = try EnvironmentCLI.run(world, ["migrate"])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stdout.contains(" migrate: staging/ → staging/aiworker/, production/ → production/aiworker/"), "\(migrated.stdout)")
        #expect(try world.gitOut(["rev-parse", "main~1"]) == old)
        #expect(try world.files("main", "staging").filter { $0.hasSuffix(".yaml") }.isEmpty)
        #expect(try world.deploymentImages("main", "staging/aiworker") == stagingImages)
        #expect(try world.deploymentImages("main", "production/aiworker") == stagingImages)
        #expect(try world.show("main", "production/aiworker/deployment-backend.yaml").contains("namespace: aiworker-production"))
        #expect(try world.show("main", "staging/.gitkeep").isEmpty)
        let again = try EnvironmentCLI.run(world, ["migrate"])
        #expect(again.status == 0 && again.stdout.hasPrefix("unchanged "), "\(again.stdout)")

        // The stories of staging, promotion and rollback run as before.
        let v2 = try await world.deployStaging(tag: "v2")
        #expect(try world.deploymentImages("main", "staging/aiworker")["backend"] == world.pinned("backend", v2["backend"]!))
        let promoted = try EnvironmentCLI.run(world, ["promote", "staging", "production"])
        #expect(promoted.status == 0, "\(promoted.stderr)")
        #expect(try world.deploymentImages("main", "production/aiworker")["backend"] == world.pinned("backend", v2["backend"]!))
        let rolledBack = try EnvironmentCLI.run(world, ["rollback", "production", "--to", "previous"])
        #expect(rolledBack.status == 0, "\(rolledBack.stderr)")
        #expect(try world.deploymentImages("main", "production/aiworker") == stagingImages)
    }
}
