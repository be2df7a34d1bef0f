import Foundation
import GitStore
import GitWire
import Templates

/// One operation that changed an environment, read back from its commit.
public struct HistoryEntry: Sendable, Codable, Equatable {
    public var commit: String
    public var subject: String
    /// `Name <email>` of the commit's author.
    public var author: String
    /// The `Requested-By:` trailer: who asked.
    public var requestedBy: String?
    /// The `Operation:` trailer: deploy-staging, promote, rollback, ...
    public var operation: String?
    /// The author date, RFC 3339 UTC.
    public var date: String
    /// The `Image:` trailers, as `service=reference`.
    public var images: [String]

    init(_ info: CommitInfo) {
        let trailers = CommitMessage.trailers(of: info.message)
        commit = info.id.hex
        subject = info.subject
        author = "\(info.author.name) <\(info.author.email)>"
        requestedBy = trailers.first { $0.0 == "Requested-By" }?.1
        operation = trailers.first { $0.0 == "Operation" }?.1
        date = RFC3339.format(info.author.date)
        images = trailers.filter { $0.0 == "Image" }.map(\.1)
    }
}

/// The JSON answer of `GET /api/environments/{env}/history` and `manifestor history --json`.
public struct HistoryAnswer: Codable, Sendable, Equatable {
    public var project: String
    public var environment: String
    public var path: String
    public var entries: [HistoryEntry]
}

/// The operations that changed the environment's directory, newest first, from the commit log
/// of the tip (first parents), at most `limit`.
public func environmentHistory(_ scope: EnvironmentScope, tree: TreeSnapshot, limit: Int = 50) throws -> HistoryAnswer {
    HistoryAnswer(project: scope.project, environment: scope.environment.rawValue, path: scope.directory,
                  entries: try tree.commitsChanging(scope.directory, limit: limit).map(HistoryEntry.init))
}
