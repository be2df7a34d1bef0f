import Foundation
import GitStore
import GitWire
import KubeModel
import Templates

/// What an operation sees besides the tree: the catalog and the clock.
public struct OperationContext: Sendable {
    public var catalog: Catalog
    public var now: Date
    public var previewDomain: String { catalog.environments.preview.domain }

    public init(catalog: Catalog, now: Date) {
        self.catalog = catalog
        self.now = now
    }
}

/// The file changes one operation wants, the commit message that explains them, and what
/// the caller gets back.
public struct OperationPlan<Answer: Sendable>: Sendable {
    public var changes: [TreeChange]
    public var message: CommitMessage
    public var answer: Answer

    public init(changes: [TreeChange], message: CommitMessage, answer: Answer) {
        self.changes = changes
        self.message = message
        self.answer = answer
    }
}

/// A pure function of (tree at tip, request, catalog, clock) → file changes, so that it can be
/// re-run on any tip after a refused push.
public protocol GitOperation: Sendable {
    associatedtype Answer: Sendable
    /// For logs and metrics: `deploy-preview`, `delete-preview`, ...
    var name: String { get }
    func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<Answer>
    /// Whether the operation may run on a repository in the older layout (only the migration).
    var runsOnOlderLayout: Bool { get }
}

extension GitOperation {
    public var runsOnOlderLayout: Bool { false }

    /// `plan`, refused on a tree in the older layout unless the operation is the migration.
    func checkedPlan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<Answer> {
        if !runsOnOlderLayout { try RepositoryLayout.requireCurrent(tree, command: name) }
        return try plan(tree, context)
    }
}

/// A subject line and trailers, in the form reviewers read in `git log`.
public struct CommitMessage: Sendable, Equatable {
    public var subject: String
    public var body: String?
    public var trailers: [(String, String)]

    public init(subject: String, body: String? = nil, trailers: [(String, String)]) {
        self.subject = subject
        self.body = body
        self.trailers = trailers
    }

    public static func == (a: CommitMessage, b: CommitMessage) -> Bool {
        a.subject == b.subject && a.body == b.body && a.trailers.elementsEqual(b.trailers) { $0 == $1 }
    }

    /// Values are kept on one line so that a hostile value can't forge another trailer.
    public var text: String {
        var out = Self.oneLine(subject) + "\n"
        if let body, !body.isEmpty { out += "\n" + body + "\n" }
        if !trailers.isEmpty {
            out += "\n" + trailers.map { "\($0.0): \(Self.oneLine($0.1))" }.joined(separator: "\n") + "\n"
        }
        return out
    }

    static func oneLine(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.properties.generalCategory == .control || $0 == "\u{2028}" || $0 == "\u{2029}" ? " " : Character($0) })
    }

    /// Parses trailers back from a commit message (the last paragraph of `Key: value` lines).
    public static func trailers(of message: String) -> [(String, String)] {
        let paragraphs = message.trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: "\n\n")
        guard paragraphs.count > 1, let last = paragraphs.last else { return [] }
        var out: [(String, String)] = []
        for line in last.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { return [] }
            let key = line[..<colon]
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { return [] }
            out.append((String(key), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return out
    }
}

/// How an image is named in a commit subject: `backend@sha256:1a2b3c4` or `backend:v1.2`.
func shortImage(service: String, reference: String) -> String {
    guard let ref = try? ImageReference(parsing: reference) else { return service }
    if let digest = ref.digest {
        let parts = digest.split(separator: ":")
        return "\(service)@\(parts[0]):\(parts.count > 1 ? String(parts[1].prefix(7)) : "")"
    }
    return "\(service):\(ref.tag ?? "latest")"
}
