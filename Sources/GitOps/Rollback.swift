import Foundation
import GitStore
import GitWire
import KubeModel
import Templates

/// `text` lower-cased when it is a full or abbreviated commit id (7 to 40 hex digits), else nil.
func commitPrefix(_ text: String) -> String? {
    let lower = text.lowercased()
    return (7...40).contains(lower.count) && lower.allSatisfy({ $0.isASCII && $0.isHexDigit }) ? lower : nil
}

/// A new commit whose `staging/<project>/` or `production/<project>/` is, byte for byte, that
/// environment's content after an earlier commit. Nothing is rewritten: the history keeps every commit.
///
/// - `previous`: the content before the newest change that is not itself a rollback (read from
///   the commits' `Operation:` trailers). A retried rollback finds the same change, whose undoing
///   is already in place, so it changes nothing and never re-applies what it undid.
/// - a commit id (7 to 40 hex digits, on the branch's history): the content right after it;
///   the commit must have changed the environment.
public struct Rollback: GitOperation {
    public enum Target: Sendable, Equatable, CustomStringConvertible {
        case previous
        /// A full or abbreviated commit id, lower case.
        case commit(String)

        public static func named(_ text: String) throws -> Target {
            if text == "previous" { return .previous }
            guard let id = commitPrefix(text) else {
                throw InputError(code: "invalid_rollback_target", field: "to",
                                 rule: "must be previous or a commit id (7 to 40 hex digits), not \(YAMLEmitter.quoted(CommitMessage.oneLine(text)))")
            }
            return .commit(id)
        }

        public var description: String {
            switch self {
            case .previous: "previous"
            case .commit(let id): id
            }
        }
    }

    public var scope: EnvironmentScope
    public var target: Target
    public var requestedBy: String
    /// The commit that last changed the environment as the caller saw it (`ExpectedCommit`).
    public var expected: String?

    public init(environment: StableEnvironment, target: Target, requestedBy: String = defaultRequester,
                project: String = ProjectName.builtIn, expected: String? = nil) {
        scope = EnvironmentScope(environment, project: project); self.target = target; self.requestedBy = requestedBy
        self.expected = expected
    }

    public var name: String { "rollback" }

    public func validate() throws {
        try ProjectName.validate(scope.project)
        try validateRequester(requestedBy)
    }

    public func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<EnvironmentUpdate> {
        let directory = scope.directory
        try ExpectedCommit.check(expected, scope: scope, tree: tree)
        let restorePoint: ObjectID
        let reason: String
        switch target {
        case .previous:
            guard let last = try tree.commitsChanging(directory, limit: 1, matching: { !Self.isRollback($0) }).first,
                  let parent = last.parents.first else {
                throw unprocessable("no_previous_state", "\(directory)/ has no earlier state to roll back to")
            }
            restorePoint = parent
            reason = "undoes \(last.id.short) \(YAMLEmitter.quoted(last.subject))"
        case .commit(let prefix):
            let named = try resolve(prefix, tree: tree)
            let parentTree = try named.parents.first.flatMap { try tree.repository.treeID(commit: $0, path: directory) }
            guard try tree.repository.treeID(commit: named.id, path: directory) != parentTree else {
                throw unprocessable("rollback_target_untouched",
                                    "commit \(named.id.short) (\(named.subject)) did not change \(directory)/; name one that did (see: \(scope.historyCommand))")
            }
            restorePoint = named.id
            reason = "restores \(directory)/ as \(named.id.short) \(YAMLEmitter.quoted(named.subject)) left it"
        }
        let restored = try tree.repository.files(commit: restorePoint, under: directory)
        let after = RunningImages(files: restored)
        guard !after.images.isEmpty else {
            throw unprocessable(target == .previous ? "no_previous_state" : "rollback_target_empty",
                                "\(directory)/ ran nothing after \(restorePoint.short); rolling back to it would empty \(directory)")
        }
        let before = RunningImages(files: try tree.files(under: directory))
        let changes = ImageChange.between(before.images, after.images)
        let message = CommitMessage(
            subject: "rollback(\(directory)): to \(restorePoint.short)\(target == .previous ? " (previous)" : "")",
            body: "Rollback \(reason).",
            trailers: [("Rollback-To", restorePoint.hex)]
                + environmentTrailers(operation: name, project: scope.project, requestedBy: requestedBy, images: after.images, changes: changes))
        return OperationPlan(
            changes: try tree.syncChanges(directory: directory, toData: restored),
            message: message,
            answer: EnvironmentUpdate(scope: scope, images: after.images, tags: after.tags, changes: changes,
                                      restoredFrom: restorePoint))
    }

    /// Whether `commit` is a rollback's own commit (its `Operation:` trailer).
    static func isRollback(_ commit: CommitInfo) -> Bool {
        CommitMessage.trailers(of: commit.message).contains { $0.0 == "Operation" && $0.1 == "rollback" }
    }

    /// The commit of the branch's first-parent history that `prefix` names.
    private func resolve(_ prefix: String, tree: TreeSnapshot) throws -> CommitInfo {
        guard let tip = tree.commit else { throw notFound(prefix) }
        var matches: [CommitInfo] = []
        for info in try tree.repository.log(from: tip, limit: 100_000) where info.id.hex.hasPrefix(prefix) {
            matches.append(info)
        }
        if matches.count > 1 {
            throw InputError(code: "invalid_rollback_target", field: "to", rule: "\(prefix) names \(matches.count) commits; give more digits")
        }
        if let match = matches.first { return match }
        // A commit that came in through a merge is on the history too, just not on the first-parent line.
        if let id = ObjectID(hex: prefix), try tree.repository.contains(id), (try? tree.repository.isDescendant(tip, of: id)) == true {
            return try tree.repository.commit(id)
        }
        throw notFound(prefix)
    }

    private func notFound(_ prefix: String) -> NotFoundError {
        NotFoundError(code: "commit_not_found", message: "to: no commit \(prefix) in the history of the branch")
    }

    private func unprocessable(_ code: String, _ rule: String) -> InputError {
        InputError(code: code, field: "to", rule: rule, kind: .unprocessable)
    }
}
