import CLibGit2
import GitWire

/// The bridge between `ObjectID` and libgit2's `git_oid` (the same 20 bytes).
extension ObjectID {
    init(_ oid: git_oid) {
        self = withUnsafeBytes(of: oid.id) { ObjectID(bytes: $0) }
    }

    init(_ pointer: UnsafePointer<git_oid>) {
        self.init(pointer.pointee)
    }

    var oid: git_oid {
        var oid = git_oid()
        withBytes { bytes in
            withUnsafeMutableBytes(of: &oid.id) { $0.copyMemory(from: bytes) }
        }
        return oid
    }
}
