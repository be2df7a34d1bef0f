import Foundation
import GitStore
import GitWire
import Templates

/// What a write would commit, planned on the remote's tip without committing or pushing.
public struct DryRun<Answer: Sendable>: Sendable {
    /// The answer the write would give; `commit` is nil, `changed` whether it would commit.
    public var outcome: CommitOutcome<Answer>
    /// The tip it was planned on.
    public var base: ObjectID?
    /// The commit message it would write.
    public var message: String
    public var added: [String]
    public var changed: [String]
    public var removed: [String]

    /// The lines the CLI prints: `dry-run <subject>` (or `unchanged <tip>`), then `A|M|D path`.
    public var lines: [String] {
        guard outcome.changed else { return ["unchanged \(base?.short ?? "-")"] }
        return ["dry-run \(outcome.subject)"] + added.map { "A \($0)" } + changed.map { "M \($0)" } + removed.map { "D \($0)" }
    }
}

extension Committer {
    /// Plans `operation` on the freshly fetched tip exactly as `submit` would (the same checks,
    /// the same plan) and answers what it would commit; nothing is committed or pushed.
    public func dryRun<Op: GitOperation>(_ operation: Op, catalog: Catalog, now: Date = Date()) async throws -> DryRun<Op.Answer> {
        try await read(refresh: true) { tree in
            let plan = try operation.checkedPlan(tree, OperationContext(catalog: catalog, now: now))
            var added: [String] = [], changed: [String] = [], removed: [String] = []
            for change in plan.changes {
                switch change {
                case .upsert(let path, let content):
                    switch try tree.blob(path) {
                    case nil: added.append(path)
                    case content?: break
                    default: changed.append(path)
                    }
                case .delete(let path):
                    if try tree.blob(path) != nil {
                        removed.append(path)
                    } else {
                        removed += try tree.files(under: path).keys.map { "\(path)/\($0)" }
                    }
                }
            }
            let changes = !(added.isEmpty && changed.isEmpty && removed.isEmpty)
            return DryRun(outcome: CommitOutcome(commit: changes ? nil : tree.commit, changed: changes, answer: plan.answer,
                                                 subject: plan.message.subject),
                          base: tree.commit, message: plan.message.text,
                          added: added.sorted(), changed: changed.sorted(), removed: removed.sorted())
        }
    }
}

/// The JSON answer of a write with `dryRun`: the write's own answer (without a commit), and
/// `dryRun: true`, the tip it was planned on, the commit message and the paths it would add,
/// change and remove.
public struct DryRunAnswer<Answer: Encodable>: Encodable {
    public var answer: Answer
    public var base: String?
    public var message: String
    public var paths: PathChanges

    public init<A>(_ run: DryRun<A>, answer: Answer) {
        self.answer = answer
        base = run.base?.hex
        message = run.message
        paths = PathChanges(run)
    }

    private enum Keys: String, CodingKey { case dryRun, base, message, paths }

    /// The write's answer and the dry-run keys in one object.
    public func encode(to encoder: Encoder) throws {
        try answer.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(true, forKey: .dryRun)
        try container.encodeIfPresent(base, forKey: .base)
        try container.encode(message, forKey: .message)
        try container.encode(paths, forKey: .paths)
    }
}

/// The files a write would add, change and remove.
public struct PathChanges: Codable, Sendable, Equatable {
    public var added: [String]
    public var changed: [String]
    public var removed: [String]

    public init<A>(_ run: DryRun<A>) {
        self.init(added: run.added, changed: run.changed, removed: run.removed)
    }

    public init(added: [String], changed: [String], removed: [String]) {
        self.added = added; self.changed = changed; self.removed = removed
    }
}

/// The JSON answer of `GET /api/environments/{env}/diff?from=` and `manifestor diff FROM TO --json`:
/// what `to` would change if it took `from` (a promotion from an environment, or a rollback to a
/// commit), as a reviewer reads it.
public struct DiffAnswer: Codable, Sendable, Equatable {
    public var project: String
    public var from: String
    public var to: String
    /// The tip the difference was read at.
    public var base: String?
    public var changes: [ImageChange]
    public var paths: PathChanges

    /// The lines the CLI prints: one per image change, then `A|M|D path`.
    public var lines: [String] {
        let images = changes.map { "\($0.service): \($0.from ?? "none") → \($0.to ?? "none")" }
        let files = paths.added.map { "A \($0)" } + paths.changed.map { "M \($0)" } + paths.removed.map { "D \($0)" }
        return images.isEmpty && files.isEmpty ? ["no difference"] : images + files
    }
}

extension Committer {
    /// What `to` of `project` would change if it took `from`: `staging` or `preview/task-<id>`
    /// (as a promotion would, tags allowed so that the difference shows either way), or a commit or
    /// `previous` (a rollback). Planned on the remote's tip; nothing is committed.
    public func diff(from: String, to: StableEnvironment, project: String = ProjectName.builtIn, catalog: Catalog) async throws -> DiffAnswer {
        try ProjectName.validate(project)
        let changes: [ImageChange], paths: PathChanges, base: ObjectID?
        if from == to.rawValue {
            // An environment compared with itself.
            let tip = try await read(refresh: true) { $0.commit }
            return DiffAnswer(project: project, from: from, to: to.rawValue, base: tip?.hex, changes: [],
                              paths: PathChanges(added: [], changed: [], removed: []))
        }
        if from != "staging", !from.hasPrefix("preview/"), let target = try? Rollback.Target.named(from) {
            let run = try await dryRun(Rollback(environment: to, target: target, project: project), catalog: catalog)
            (changes, paths, base) = (run.outcome.answer.changes, PathChanges(run), run.base)
        } else {
            // Any source against any environment: a comparison, not only the promotions allowed.
            var promote = try Promote(from: .staging, to: .production, allowTag: true, project: project)
            (promote.from, promote.to) = (try PromotionSource.named(from), to)
            let run = try await dryRun(promote, catalog: catalog)
            (changes, paths, base) = (run.outcome.answer.changes, PathChanges(run), run.base)
        }
        return DiffAnswer(project: project, from: from, to: to.rawValue, base: base?.hex, changes: changes, paths: paths)
    }
}
