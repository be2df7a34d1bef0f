import Foundation
import GitWire

/// The JSON answer of deploy-preview, delete-preview and `GET /api/tasks/{id}/preview`, for the
/// API and the CLI's `--json` alike (`changed` is absent for a read).
public struct PreviewAnswer: Codable, Sendable, Equatable {
    public var taskId: String
    public var namespace: String
    public var url: String
    public var path: String
    /// The commit made, the tip when nothing changed, or for a read the tip it was read at.
    public var commit: String?
    public var expiresAt: String?
    public var changed: Bool?
    public var images: [String: String]
    public var project: String
    /// For a read, when the config names Argo CD: the preview's Application as it reports it.
    public var status: ApplicationStatus?

    init(_ state: PreviewState, commit: ObjectID?, changed: Bool?) {
        taskId = state.taskId; namespace = state.namespace; url = state.url; path = state.path
        self.commit = commit?.hex; expiresAt = state.expiresAt; self.changed = changed; images = state.images
        project = state.project
    }

    public init(_ outcome: CommitOutcome<PreviewState>) {
        self.init(outcome.answer, commit: outcome.commit, changed: outcome.changed)
    }
}

/// The JSON answer of writes whose only result is a commit (`init`).
public struct CommitAnswer: Codable, Sendable, Equatable {
    public var commit: String?
    public var changed: Bool

    public init<Answer>(_ outcome: CommitOutcome<Answer>) {
        commit = outcome.commit?.hex; changed = outcome.changed
    }
}

extension CommitOutcome {
    /// The commit as 40 hex digits, for logs.
    public var commitHex: String { commit?.hex ?? "-" }

    /// The first line write commands print: `<commit> <subject>`, or `unchanged <commit>`.
    public var summaryLine: String {
        if changed, let commit { return "\(commit.short) \(subject)" }
        return "unchanged \(commit?.short ?? "-")"
    }
}

/// Answers encoded the one way both the API and the CLI print them: JSON with sorted keys.
public func encodeAnswer(_ answer: some Encodable) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(answer)
}
