import Foundation
import Testing

/// Whether the Dockerfile's runtime stage (debian:bookworm-slim plus its `apt-get install`)
/// carries every shared library the manifestor binary loads. The image is not built here: the
/// binary built beside the tests is asked (`ldd`), each library it resolves is mapped to its
/// Debian package (`dpkg -S`), and each package must be one the runtime stage installs, one of
/// their dependencies, or part of the base image. Dependencies and the base come from this
/// machine's dpkg database, which is the same release (Debian 12) as the runtime stage.
///
/// Not counted: the dynamic loader and the vdso, and the Swift runtime (libswiftCore,
/// Foundation, dispatch, ...), which lives in the toolchain, in no Debian package, and which the
/// image's build links statically (`--static-swift-stdlib`). What the Swift runtime itself loads
/// (libstdc++, libgcc_s, libm, libc) is in ldd's list too, and so is checked.
enum RuntimeImage {
    struct Library: Equatable {
        let soname: String
        /// nil: ldd found no file for it on this machine.
        let path: String?
    }

    /// The libraries of `ldd`'s output, without the vdso and the loader (lines without `=>`).
    static func libraries(ldd: String) -> [Library] {
        ldd.split(separator: "\n").compactMap { line in
            let parts = line.trimmingCharacters(in: .whitespaces).components(separatedBy: " => ")
            guard parts.count == 2 else { return nil }
            let target = parts[1].trimmingCharacters(in: .whitespaces)
            if target.hasPrefix("not found") { return Library(soname: parts[0], path: nil) }
            return Library(soname: parts[0], path: String(target.split(separator: " ")[0]))
        }
    }

    /// A library of the Swift toolchain's runtime directory (linked statically into the image).
    static func isSwiftRuntime(_ path: String) -> Bool {
        path.contains("/lib/swift/linux/") || path.contains("/lib/swift_static/")
    }

    /// The base image and the packages of the last stage's `apt-get install` commands.
    static func runtimeStage(dockerfile: String) -> (base: String, packages: [String]) {
        let joined = dockerfile.replacingOccurrences(of: "\\\n", with: " ")
        let lines = joined.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let from = lines.lastIndex(where: { $0.uppercased().hasPrefix("FROM ") }) else { return ("", []) }
        let base = lines[from].split(separator: " ").dropFirst().first.map(String.init) ?? ""
        var packages: [String] = []
        for line in lines[(from + 1)...] where line.uppercased().hasPrefix("RUN ") {
            for command in line.dropFirst(4).components(separatedBy: "&&") {
                let words = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard let apt = words.firstIndex(where: { $0 == "apt-get" || $0 == "apt" }),
                      let install = words[apt...].firstIndex(of: "install") else { continue }
                for word in words[(install + 1)...] {
                    if [";", "|", "||"].contains(word) { break }
                    if !word.hasPrefix("-") { packages.append(word) }
                }
            }
        }
        return (base, packages)
    }

    /// The installed packages of a `dpkg-query` listing (see `dpkgQueryFormat`): their
    /// dependencies (Pre-Depends and Depends, each alternative as listed), the virtual packages
    /// they provide, and which of them the base image holds by itself (Essential, or Priority
    /// required: what a minimal Debian install, as debian:*-slim is, starts from).
    struct Database {
        var depends: [String: [[String]]] = [:]
        var provider: [String: String] = [:]
        var baseRoots: Set<String> = []

        init(dpkgQuery: String) {
            for line in dpkgQuery.split(separator: "\n") {
                let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                guard f.count == 7, f[0].hasPrefix("ii") else { continue }
                let name = f[1]
                depends[name] = Self.relations(f[4]) + Self.relations(f[5])
                for virtual in Self.relations(f[6]).flatMap({ $0 }) where provider[virtual] == nil {
                    provider[virtual] = name
                }
                if f[2] == "yes" || f[3] == "required" { baseRoots.insert(name) }
            }
        }

        static let dpkgQueryFormat = "${db:Status-Abbrev}\t${Package}\t${Essential}\t${Priority}\t${Pre-Depends}\t${Depends}\t${Provides}\n"

        /// "a (>= 1), b:any | c" → [["a"], ["b", "c"]].
        static func relations(_ field: String) -> [[String]] {
            field.split(separator: ",").map { group in
                group.split(separator: "|").compactMap { alternative in
                    let word = alternative.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
                    let name = word.split(separator: ":").first.map(String.init) ?? ""
                    return name.isEmpty ? nil : name
                }
            }.filter { !$0.isEmpty }
        }

        /// `roots` and everything they depend on, recursively (for an alternative, the first one
        /// installed here; a virtual package through the package that provides it).
        func closure(_ roots: some Sequence<String>) -> Set<String> {
            var seen: Set<String> = []
            var queue = Array(roots)
            while let next = queue.popLast() {
                let name = depends[next] == nil ? (provider[next] ?? next) : next
                guard seen.insert(name).inserted else { continue }
                for group in depends[name] ?? [] {
                    if let pick = group.first(where: { depends[$0] != nil || provider[$0] != nil }) { queue.append(pick) }
                }
            }
            return seen
        }
    }

    /// The libraries whose package the runtime stage does not provide, as "soname (package)";
    /// `packageOf` maps a library's path to its package (nil: no package owns it).
    static func missing(libraries: [Library], packageOf: [String: String], dockerfile: String, database: Database) -> [String] {
        let stage = runtimeStage(dockerfile: dockerfile)
        let provided = database.closure(database.baseRoots.union(stage.packages))
        return libraries.compactMap { library in
            guard let path = library.path else { return "\(library.soname) (not found by ldd)" }
            if isSwiftRuntime(path) { return nil }
            guard let package = packageOf[path] else { return "\(library.soname) (\(path): in no Debian package)" }
            return provided.contains(package) ? nil : "\(library.soname) (\(package))"
        }
    }

    /// `dpkg -S` of every path (as ldd gave it and in its other merged-/usr spelling), in one call.
    static func packages(of libraries: [Library]) throws -> [String: String] {
        let paths = libraries.compactMap(\.path).filter { !isSwiftRuntime($0) }
        func spellings(_ path: String) -> [String] {
            path.hasPrefix("/usr/") ? [path, String(path.dropFirst(4))] : [path, "/usr" + path]
        }
        let result = try run("dpkg", ["-S"] + paths.flatMap(spellings))
        var owner: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") where !line.hasPrefix("diversion") {
            guard let colon = line.range(of: ": ") else { continue }
            let package = line[..<colon.lowerBound].split(separator: ",")[0].split(separator: ":")[0]
            owner[String(line[colon.upperBound...])] = package.trimmingCharacters(in: .whitespaces)
        }
        var out: [String: String] = [:]
        for path in paths {
            if let package = spellings(path).lazy.compactMap({ owner[$0] }).first { out[path] = package }
        }
        return out
    }

    /// Everything the check reads from this machine, once per test process.
    struct Facts {
        let libraries: [Library]
        let packageOf: [String: String]
        let database: Database
        let dockerfile: String

        static func load() throws -> Facts {
            let binary = ArgoCDFixtures.manifestorBinary()
            let libraries = RuntimeImage.libraries(ldd: try runChecked("ldd", [binary], timeout: 60))
            let dpkg = try runChecked("dpkg-query", ["-W", "-f", Database.dpkgQueryFormat], timeout: 60)
            let dockerfile = try String(contentsOf: repoRoot().appendingPathComponent("Dockerfile"), encoding: .utf8)
            return Facts(libraries: libraries, packageOf: try RuntimeImage.packages(of: libraries),
                         database: Database(dpkgQuery: dpkg), dockerfile: dockerfile)
        }

        func missing(dockerfile: String? = nil) -> [String] {
            RuntimeImage.missing(libraries: libraries, packageOf: packageOf, dockerfile: dockerfile ?? self.dockerfile,
                                 database: database)
        }
    }

    static var onBookworm: Bool {
        let release = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? ""
        return release.contains("VERSION_CODENAME=bookworm") && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg")
    }
}

@Suite("RuntimeImage", .enabled(if: RuntimeImage.onBookworm, "needs Debian 12's dpkg database"))
struct RuntimeImageTests {
    @Test("the runtime stage installs, or its base holds, every library the binary loads")
    func everyLibraryProvided() throws {
        let facts = try RuntimeImage.Facts.load()
        #expect(RuntimeImage.runtimeStage(dockerfile: facts.dockerfile).base == "debian:bookworm-slim",
                "the check reads this machine's Debian 12 database: the runtime stage must be bookworm-slim")
        #expect(facts.libraries.contains { $0.soname.hasPrefix("libgit2") }, "ldd lists no libgit2: \(facts.libraries)")
        #expect(facts.libraries.contains { $0.soname.hasPrefix("libcurl") }, "ldd lists no libcurl: \(facts.libraries)")
        let missing = facts.missing()
        #expect(missing.isEmpty, "the Dockerfile's runtime stage lacks: \(missing.joined(separator: ", "))")
    }

    @Test("a runtime stage without libcurl4 is told that libcurl.so.4 is missing")
    func missingPackageNamed() throws {
        let facts = try RuntimeImage.Facts.load()
        let withoutCurl = facts.dockerfile.replacingOccurrences(of: " libcurl4 ", with: " ")
        #expect(withoutCurl != facts.dockerfile, "the Dockerfile installs no libcurl4")
        let missing = facts.missing(dockerfile: withoutCurl)
        #expect(missing.contains { $0.hasPrefix("libcurl.so.4 (libcurl4)") }, "\(missing)")
    }

    @Test("only the last stage's apt-get install counts, continuation lines included")
    func parsesRuntimeStage() {
        let dockerfile = """
            FROM swift:6.0-bookworm AS build
            RUN apt-get install -y libgit2-dev
            FROM debian:bookworm-slim
            RUN apt-get update && apt-get install -y --no-install-recommends libgit2-1.5 \\
                libcurl4 ca-certificates \\
                && rm -rf /var/lib/apt/lists/*
            """
        let stage = RuntimeImage.runtimeStage(dockerfile: dockerfile)
        #expect(stage.base == "debian:bookworm-slim")
        #expect(stage.packages == ["libgit2-1.5", "libcurl4", "ca-certificates"])
        #expect(RuntimeImage.Database.relations("libc6 (>= 2.34), libssl3:any | libssl1.1") == [["libc6"], ["libssl3", "libssl1.1"]])
        let ldd = """
            \tlinux-vdso.so.1 (0x00007f3028f68000)
            \tlibgit2.so.1.5 => /lib/x86_64-linux-gnu/libgit2.so.1.5 (0x00007f30272e1000)
            \tlibswiftCore.so => /opt/swift/usr/lib/swift/linux/libswiftCore.so (0x00007f3026a00000)
            \tlibgone.so.1 => not found
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f3028f6a000)
            """
        #expect(RuntimeImage.libraries(ldd: ldd) == [
            .init(soname: "libgit2.so.1.5", path: "/lib/x86_64-linux-gnu/libgit2.so.1.5"),
            .init(soname: "libswiftCore.so", path: "/opt/swift/usr/lib/swift/linux/libswiftCore.so"),
            .init(soname: "libgone.so.1", path: nil),
        ])
    }
}
