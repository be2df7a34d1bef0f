import Foundation
import KubeModel

extension ArgoCDManifests {
    /// Writes `files` into `directory` (created if missing) and deletes every other `*.yaml`
    /// there, so the folder holds exactly what the last render produced. Unchanged files are
    /// not rewritten; files that are not `*.yaml` (a README) are left alone.
    public static func write(_ files: [(fileName: String, yaml: String)], to directory: URL) throws {
        var byName: [String: String] = [:]
        for file in files {
            guard file.fileName.hasSuffix(".yaml") else {
                throw InputError(code: "invalid_file_name", field: file.fileName, rule: "must end in .yaml")
            }
            guard byName.updateValue(file.yaml, forKey: file.fileName) == nil else {
                throw InputError(code: "invalid_file_name", field: file.fileName, rule: "rendered twice")
            }
        }
        try ManifestDirectory.sync(byName, to: directory)
    }
}

extension ClusterManifests {
    /// Same as `ArgoCDManifests.write`, for `--cluster-out`.
    public static func write(_ files: [(fileName: String, yaml: String)], to directory: URL) throws {
        try ArgoCDManifests.write(files, to: directory)
    }
}
