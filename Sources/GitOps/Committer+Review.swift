import Foundation
import GitStore
import GitWire
import Templates

/// What `submitForReview` answers: the outcome as `submit` would give it, and the branch the
/// commit was pushed to (nil when nothing changed).
public struct ReviewOutcome<Answer: Sendable>: Sendable {
    public var outcome: CommitOutcome<Answer>
    public var branch: String?
}

extension Committer {
    /// Plans `operation` on the branch's freshly fetched tip and makes the same commit `submit`
    /// would, but pushes it to a new branch named by `branchName(commit)` instead, leaving the
    /// branch untouched. The commit's parent is the tip, so merging the new branch is a
    /// fast-forward that gives exactly what a direct submit would have given.
    public func submitForReview<Op: GitOperation>(
        _ operation: Op, catalog: Catalog, now: Date = Date(),
        branchName: @escaping @Sendable (ObjectID) -> String
    ) async throws -> ReviewOutcome<Op.Answer> {
        let settings = self.settings
        // It writes a commit and pushes: on the git thread, which owns the cache.
        return try await readOnGitThread(refresh: true) { tree in
            let plan = try operation.checkedPlan(tree, OperationContext(catalog: catalog, now: now))
            let repository = tree.repository
            let signature = Signature(name: settings.author.name, email: settings.author.email, date: now)
            guard !plan.changes.isEmpty,
                  let commit = try repository.makeCommit(parent: tree.commit, changes: plan.changes, author: signature,
                                                         committer: signature, message: plan.message.text, signer: settings.signer)
            else {
                return ReviewOutcome(outcome: CommitOutcome(commit: tree.commit, changed: false, answer: plan.answer, subject: plan.message.subject),
                                     branch: nil)
            }
            let branch = branchName(commit)
            try repository.pushNewBranch(settings.remote, branch: branch, commit: commit, base: tree.commit)
            return ReviewOutcome(outcome: CommitOutcome(commit: commit, changed: true, answer: plan.answer, subject: plan.message.subject),
                                 branch: branch)
        }
    }
}
