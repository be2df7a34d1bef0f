import Foundation
import GitWire

/// Who made a commit, and when. libgit2 stores whole seconds and a time zone offset.
public struct Signature: Sendable, Hashable {
    public var name: String
    public var email: String
    public var date: Date
    /// Offset from UTC written into the commit; 0 (UTC) keeps commits deterministic.
    public var timeZoneOffsetMinutes: Int

    public init(name: String, email: String, date: Date, timeZoneOffsetMinutes: Int = 0) {
        self.name = name
        self.email = email
        self.date = date
        self.timeZoneOffsetMinutes = timeZoneOffsetMinutes
    }
}

/// One change to apply to a tree. Changes apply in order, like file operations:
/// - `upsert` writes a regular file (mode 100644), creating intermediate directories and
///   replacing whatever is in the way (a directory at the path, a file where a directory is needed);
/// - `delete` removes a file or a whole directory; deleting a missing path is a no-op.
public enum TreeChange: Sendable, Equatable {
    case upsert(path: String, content: Data)
    case delete(path: String)

    public var path: String {
        switch self {
        case .upsert(let path, _), .delete(let path): path
        }
    }
}

/// One entry of a directory listing.
public struct TreeEntry: Sendable, Equatable, Hashable {
    public var name: String
    public var isTree: Bool
    public var id: ObjectID

    public init(name: String, isTree: Bool, id: ObjectID) {
        self.name = name
        self.isTree = isTree
        self.id = id
    }
}

/// A commit read back from the object database.
public struct CommitInfo: Sendable, Hashable {
    public var id: ObjectID
    public var parents: [ObjectID]
    public var tree: ObjectID
    /// The full raw message (subject, body, trailers), as stored.
    public var message: String
    public var author: Signature
    public var committer: Signature

    /// The first line of the message.
    public var subject: String {
        String(message.prefix { $0 != "\n" })
    }
}
