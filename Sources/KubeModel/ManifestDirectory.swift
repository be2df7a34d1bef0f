import Foundation

/// Makes a folder hold exactly a set of rendered files.
public enum ManifestDirectory {
    /// Writes every file (only when its bytes change) and deletes the `*.yaml` files the render
    /// no longer produces. Files are written through a temporary name and renamed, so a reader
    /// never sees half a file.
    public static func sync(_ files: [String: String], to directory: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in files.keys where name.contains("/") || name.hasPrefix(".") {
            throw InputError(code: "invalid_file_name", field: name, rule: "must be a plain file name")
        }
        for (name, content) in files.sorted(by: { $0.key < $1.key }) {
            let target = directory.appendingPathComponent(name)
            let data = Data(content.utf8)
            if let existing = fm.contents(atPath: target.path), existing == data { continue }
            let temporary = directory.appendingPathComponent(".\(name).tmp-\(getpid())")
            try data.write(to: temporary)
            // rename(2) replaces an existing file in one step. Not FileManager.replaceItemAt: on
            // Linux it removes the target and then fails (ENOENT), so a changed file was lost.
            guard rename(temporary.path, target.path) == 0 else {
                let code = POSIXErrorCode(rawValue: errno) ?? .EIO
                try? fm.removeItem(at: temporary)
                throw POSIXError(code)
            }
        }
        for name in try fm.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".yaml") && files[name] == nil {
            try fm.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}
