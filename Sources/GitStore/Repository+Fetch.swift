import CLibGit2
import Foundation
import GitWire

/// Fetching over http and https without libgit2's network code, which has no deadline in 1.5:
/// the advertisement and the pack come through `SmartHTTPClient` (every exchange bounded), and
/// libgit2 only indexes the pack as it arrives (`git_indexer`) into the object database.
extension Repository {
    /// `fetch` of `refspecs` (`+refs/heads/X:refs/remotes/origin/X` each) over smart HTTP; false
    /// when the remote is better left to libgit2 (a redirect, an answer that is not smart HTTP).
    func fetchOverSmartHTTP(_ client: SmartHTTPClient, refspecs: [String], operation: String) throws -> Bool {
        var pairs: [(source: String, destination: String)] = []
        for spec in refspecs {
            let parts = spec.drop(while: { $0 == "+" }).split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0].hasPrefix("refs/"), !parts[0].contains("*") else { return false }
            pairs.append((parts[0], parts[1]))
        }
        guard let advertised = try client.advertisement(service: "git-upload-pack") else { return false }
        for (source, destination) in pairs {
            // A source the remote does not have is skipped, as libgit2 does.
            guard let want = advertised.references[source] else { continue }
            let current = try lookupReference(destination)
            if current == want { continue }
            if try !contains(want) {
                try receivePack(want: want, haves: try haves(from: current), client: client, operation: operation)
            }
            try updateReference(destination, to: want, expected: current, message: "fetch: forced update")
        }
        return true
    }

    /// Commits the remote may share with us, newest first: `tip` and its first parents.
    private func haves(from tip: ObjectID?, limit: Int = 32) throws -> [ObjectID] {
        guard let tip, try contains(tip) else { return [] }
        return try log(from: tip, limit: limit).map(\.id)
    }

    /// Downloads the pack of `want` less `haves` and indexes it into `objects/pack`.
    private func receivePack(want: ObjectID, haves: [ObjectID], client: SmartHTTPClient, operation: String) throws {
        var odb: OpaquePointer?
        try gitCall(operation) { git_repository_odb(&odb, pointer) }
        defer { git_odb_free(odb) }
        var options = git_indexer_options()
        try gitCall(operation) { git_indexer_options_init(&options, UInt32(GIT_INDEXER_OPTIONS_VERSION)) }
        let packs = URL(fileURLWithPath: path).appendingPathComponent("objects/pack").path
        try FileManager.default.createDirectory(atPath: packs, withIntermediateDirectories: true)
        var indexer: OpaquePointer?
        try gitCall(operation) { git_indexer_new(&indexer, packs, 0, odb, &options) }
        defer { git_indexer_free(indexer) }
        var progress = git_indexer_progress()
        try client.fetchPack(want: want, haves: haves) { chunk in
            guard let base = chunk.baseAddress, chunk.count > 0 else { return }
            try gitCall(operation) { git_indexer_append(indexer, base, chunk.count, &progress) }
        }
        try gitCall(operation) { git_indexer_commit(indexer, &progress) }
        try gitCall(operation) { git_odb_refresh(odb) }
        guard try contains(want) else {
            throw GitError(kind: .other, message: "the fetched pack does not hold \(want.hex)", operation: operation)
        }
    }
}
