import Foundation
import KubeModel
import Templates
import Testing

@Suite("Hostile and malformed input")
struct InputValidationTests {
    static let badTaskIDs = ["../x", "A", "-x", "x-", "a_b", String(repeating: "a", count: 41), "", "a b", "a\nb", "é"]

    @Test("bad task ids are refused before rendering", arguments: badTaskIDs)
    func badTaskID(_ id: String) throws {
        #expect(throws: InputError.self) {
            try Renderer(catalog: RenderFixtures.catalog()).preview(taskID: id, images: [:], ttl: nil, now: RenderFixtures.now)
        }
    }

    @Test("good task ids are accepted", arguments: ["a", "abc123", "a-b", String(repeating: "a", count: 40), "0"])
    func goodTaskID(_ id: String) throws {
        try TaskID.validate(id)
    }

    static let badImages = ["git.fuq.tv/a b:1", "git.fuq.tv/Admin/backend:1", "git.fuq.tv/admin/backend:", "", "backend@sha256:xyz",
                            "git.fuq.tv//backend", "backend:-x", "back\nend:1"]

    @Test("bad image references are refused", arguments: badImages)
    func badImage(_ ref: String) throws {
        let error = try #require(throws: InputError.self) {
            try Renderer(catalog: RenderFixtures.catalog()).preview(taskID: "abc", images: ["backend": ref], ttl: nil, now: RenderFixtures.now)
        }
        #expect(error.field == "images.backend")
        #expect(!error.description.contains("\n"))
    }

    @Test("good image references parse")
    func goodImages() throws {
        let r = try ImageReference(parsing: "localhost:5000/team/app_x:v1.2-rc@\(RenderFixtures.digestA)")
        #expect(r.repository == "localhost:5000/team/app_x")
        #expect(r.tag == "v1.2-rc")
        #expect(r.digest == RenderFixtures.digestA)
        #expect(r.pinned == "localhost:5000/team/app_x@\(RenderFixtures.digestA)")
        #expect(try ImageReference(parsing: "nginx").repository == "nginx")
    }

    @Test("bad TTLs are refused", arguments: ["0s", "-1d", "400d", "7", "d", "7w", "1.5d", " 7d"])
    func badTTL(_ ttl: String) throws {
        let error = try #require(throws: InputError.self) {
            try Renderer(catalog: RenderFixtures.catalog()).preview(taskID: "abc", images: [:], ttl: ttl, now: RenderFixtures.now)
        }
        #expect(error.field == "ttl")
    }

    @Test("production refuses a tag unless allowed")
    func productionNeedsDigest() throws {
        let renderer = Renderer(catalog: try RenderFixtures.catalog())
        let images = ["backend": "git.fuq.tv/admin/aiworker-backend:1.0", "frontend": "git.fuq.tv/admin/aiworker-frontend@\(RenderFixtures.digestB)"]
        let error = try #require(throws: InputError.self) { try renderer.production(images: images) }
        #expect(error.field == "images.backend")
        #expect(error.rule.contains("digest"))
        _ = try renderer.production(images: images, allowTag: true)
    }

    @Test("an unknown service is refused")
    func unknownService() throws {
        let error = try #require(throws: InputError.self) {
            try Renderer(catalog: RenderFixtures.catalog()).staging(images: ["nope": "x/y:1"])
        }
        #expect(error.field == "images.nope")
    }

    @Test("the catalog is decoded strictly: unknown and mistyped keys name file and key path")
    func strictCatalog() throws {
        let dir = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let templates = dir.appendingPathComponent("templates")
        try FileManager.default.copyItem(at: repoRoot().appendingPathComponent("templates"), to: templates)
        let file = templates.appendingPathComponent("services/backend.yaml")
        let original = try String(contentsOf: file, encoding: .utf8)

        try (original + "\nreplicaCount: 3\n").write(to: file, atomically: true, encoding: .utf8)
        var error = try #require(throws: InputError.self) { try Catalog.load(directory: templates) }
        #expect(error.description.contains("services/backend.yaml: replicaCount: unknown key"), "\(error)")

        try original.replacingOccurrences(of: "  preview:\n    env:", with: "  preview:\n    replics: 2\n    env:").write(to: file, atomically: true, encoding: .utf8)
        error = try #require(throws: InputError.self) { try Catalog.load(directory: templates) }
        #expect(error.description.contains("environments.preview.replics: unknown key"), "\(error)")

        try original.replacingOccurrences(of: "port: 3000", with: "port: lots").write(to: file, atomically: true, encoding: .utf8)
        error = try #require(throws: InputError.self) { try Catalog.load(directory: templates) }
        #expect(error.description.contains("backend.yaml: port: must be an integer"), "\(error)")
    }

    static let badCLIArguments: [[String]] = [
        ["--env", "preview", "--task", "../x"],
        ["--env", "preview", "--task", "A"],
        ["--env", "preview", "--task", "abc", "--ttl", "0s"],
        ["--env", "preview", "--task", "abc", "--ttl", "400d"],
        ["--env", "preview", "--task", "abc", "--image", "backend=git.fuq.tv/Admin/x:1"],
        ["--env", "preview", "--task", "abc", "--image", "backend=x y:1"],
        ["--env", "production", "--image", "backend=git.fuq.tv/admin/aiworker-backend:1"],
        ["--env", "nowhere"],
    ]

    @Test("the CLI refuses bad input with one line and leaves the folder untouched", arguments: badCLIArguments)
    func cliRefuses(_ args: [String]) throws {
        let dir = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try "keep: me\n".write(to: out.appendingPathComponent("deployment-old.yaml"), atomically: true, encoding: .utf8)
        let before = try RenderFixtures.snapshot(out)
        let result = try run(RenderFixtures.manifestor, ["render"] + args + ["--out", out.path, "--templates", repoRoot().appendingPathComponent("templates").path])
        #expect(result.status == 1, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(try RenderFixtures.snapshot(out) == before)
    }

    @Test("an unknown catalog key fails the CLI without writing")
    func cliUnknownCatalogKey() throws {
        let dir = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let templates = dir.appendingPathComponent("templates")
        try FileManager.default.copyItem(at: repoRoot().appendingPathComponent("templates"), to: templates)
        let env = templates.appendingPathComponent("environments.yaml")
        try (try String(contentsOf: env, encoding: .utf8) + "colour: blue\n").write(to: env, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        let result = try run(RenderFixtures.manifestor, ["render", "--env", "staging", "--out", out.path, "--templates", templates.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("environments.yaml: colour: unknown key"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test("a render into a folder removes files no longer produced")
    func removesStaleFiles() throws {
        let dir = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try "old\n".write(to: dir.appendingPathComponent("deployment-gone.yaml"), atomically: true, encoding: .utf8)
        let env = try Renderer(catalog: RenderFixtures.catalog()).staging(images: [:])
        try ManifestDirectory.sync(env.files, to: dir)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == Set(env.files.keys))
    }
}
