import ArgumentParser
import Foundation
import Logging

/// How log lines are written: `text` (one readable line) or `json` (one JSON object a line).
enum LogFormat: String, CaseIterable, ExpressibleByArgument, Sendable {
    case text, json
}

/// The format of every line; `serve` sets it from `--log-format` or `server.logFormat` before
/// its first line. The handlers read it per line, since logging is bootstrapped before parsing.
final class LogSettings: @unchecked Sendable {
    static let shared = LogSettings()
    private let lock = NSLock()
    private var current: LogFormat = .text

    var format: LogFormat {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }
}

/// Writes each line to stderr with its time, level, label, message and metadata (the
/// handler's, the provider's and the line's own, later ones winning).
struct LineLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    private static let output = LockedStandardError()

    init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label; self.logLevel = level; self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let own = event.metadata { all.merge(own) { _, new in new } }
        let line = LogLine(time: Date(), level: event.level, label: label, message: event.message.description, metadata: all)
        Self.output.write(LogSettings.shared.format == .json ? line.json : line.text)
    }
}

/// One log line in either format.
struct LogLine {
    var time: Date
    var level: Logger.Level
    var label: String
    var message: String
    var metadata: Logger.Metadata

    var timestamp: String { time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }

    /// `2025-01-02T03:04:05.678Z info manifestor: pushed commit=… request_ids=[a, b]`
    var text: String {
        let pairs = metadata.keys.sorted().map { "\($0)=\(Self.text(metadata[$0]!))" }
        let single = message.replacingOccurrences(of: "\n", with: "\\n")
        return ([timestamp, level.rawValue, "\(label): \(single)"] + pairs).joined(separator: " ")
    }

    /// `{"label":…,"level":…,"message":…,"metadata":{…},"time":…}` on one line.
    var json: String {
        let object: [String: Any] = ["time": timestamp, "level": level.rawValue, "label": label, "message": message,
                                     "metadata": metadata.mapValues(Self.json)]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return #"{"level":"error","message":"unencodable log line"}"#
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func text(_ value: Logger.MetadataValue) -> String {
        switch value {
        case let .string(s): return s.contains(" ") || s.isEmpty ? "\"\(s)\"" : s
        case let .stringConvertible(s): return text(.string(s.description))
        case let .array(values): return "[" + values.map(text).joined(separator: ",") + "]"
        case let .dictionary(d): return "{" + d.keys.sorted().map { "\($0)=\(text(d[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    private static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case let .string(s): return s
        case let .stringConvertible(s): return s.description
        case let .array(values): return values.map(json)
        case let .dictionary(d): return d.mapValues(json)
        }
    }
}

/// stderr, one whole line per write, lines from different threads never interleaved.
final class LockedStandardError: @unchecked Sendable {
    private let lock = NSLock()

    func write(_ line: String) {
        let data = Data((line.replacingOccurrences(of: "\n", with: "\\n") + "\n").utf8)
        lock.withLock { FileHandle.standardError.write(data) }
    }
}

/// Logs go to stderr, so that stdout carries only what scripts read. The level comes from
/// MANIFESTOR_LOG_LEVEL (default: warning for commands; `serve` raises it to info).
func bootstrapLogging(defaultLevel: Logger.Level = .warning) {
    let level = ProcessInfo.processInfo.environment["MANIFESTOR_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
    LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level) }
}
