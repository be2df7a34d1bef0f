import Foundation
import KubeModel

public enum EnvironmentName: String, Sendable, CaseIterable, Codable {
    case preview, staging, production
}

/// What one render produced: the objects of one directory of the gitops repository.
public struct RenderedEnvironment: Sendable {
    /// `preview/task-<id>`, `staging` or `production`.
    public let directory: String
    public let namespace: String
    /// In apply order: the Namespace first, the smoke test last.
    public let objects: [AnyKubeObject]
    /// The image each service runs, as written in its Deployment.
    public let images: [String: String]
    public let expiresAt: Date?

    /// File name → canonical YAML, one object per file.
    public var files: [String: String] {
        var out: [String: String] = [:]
        for object in objects { out[object.fileName] = object.yaml }
        return out
    }

    /// One multi-document stream in apply order.
    public var stream: String { YAMLEmitter.emitStream(objects.map(\.yamlNode)) }
}

public enum RFC3339 {
    public static func format(_ date: Date) -> String {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)).formatted(.iso8601)
    }

    public static func parse(_ text: String) -> Date? {
        if let d = try? Date(text, strategy: .iso8601) { return d }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

public enum TaskID {
    /// `^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`: every name derived from it stays a DNS label.
    public static func validate(_ id: String) throws(InputError) {
        let b = Array(id.utf8)
        func lowerAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
        guard !b.isEmpty, b.count <= 40, lowerAlnum(b.first!), lowerAlnum(b.last!),
              b.allSatisfy({ lowerAlnum($0) || $0 == UInt8(ascii: "-") }) else {
            throw InputError(code: "invalid_task_id", field: "taskId",
                             rule: "must match ^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$ (1-40 lower-case letters, digits or '-', not starting or ending with '-')")
        }
    }

    public static func directory(_ id: String) -> String { "preview/task-\(id)" }
    public static func namespace(_ id: String) -> String { "preview-task-\(id)" }
}
