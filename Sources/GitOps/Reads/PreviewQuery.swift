import Foundation
import KubeModel
import Templates

/// One page of `GET /api/previews` as asked: at most `limit` previews matching `filter`, after
/// the task id its `continue` token names. Tokens are opaque to clients (base64url of a small
/// JSON object), and a page resumes after a task id, not at an offset, so previews added or
/// removed between two pages never make one that exists throughout appear twice or be skipped.
public struct PreviewQuery: Sendable, Hashable {
    public static let defaultLimit = 100
    public static let maxLimit = 1_000

    public var limit: Int
    public var after: String?
    public var filter: PreviewFilter

    public init(limit: Int = PreviewQuery.defaultLimit, after: String? = nil, filter: PreviewFilter = PreviewFilter()) {
        self.limit = limit; self.after = after; self.filter = filter
    }

    /// The query of the request's parameters (each nil when absent), every one checked.
    public init(limit: String?, continueToken: String?, project: String?, expiringBefore: String?) throws {
        self.init()
        if let limit {
            guard let value = Int(limit), (1...Self.maxLimit).contains(value) else {
                throw InputError(code: "invalid_limit", field: "limit", rule: "must be an integer from 1 to \(Self.maxLimit)")
            }
            self.limit = value
        }
        if let continueToken { after = try Self.decode(continueToken) }
        if let project {
            try ProjectName.validate(project)
            filter.project = project
        }
        if let expiringBefore {
            guard let time = RFC3339.parse(expiringBefore) else {
                throw InputError(code: "invalid_expiring_before", field: "expiringBefore",
                                 rule: "must be an RFC 3339 time such as 2026-12-01T00:00:00Z")
            }
            filter.expiringBefore = time
        }
    }

    private struct Token: Codable { var after: String }

    /// The token that resumes after `taskID`.
    static func encode(after taskID: String) -> String {
        let json = (try? JSONEncoder().encode(Token(after: taskID))) ?? Data()
        return json.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ token: String) throws -> String {
        let invalid = InputError(code: "invalid_continue", field: "continue", rule: "must be a token from an earlier page of this list")
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard token.count <= 512, !base64.contains("=") else { throw invalid }
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let decoded = try? JSONDecoder().decode(Token.self, from: data),
              (try? TaskID.validate(decoded.after)) != nil
        else { throw invalid }
        return decoded.after
    }
}

/// The JSON answer of `GET /api/previews`: one page, in task id order.
public struct PreviewList: Codable, Sendable, Equatable {
    public var previews: [PreviewAnswer]
    /// The previews on this page.
    public var count: Int
    /// Every preview matching the filters at this commit.
    public var total: Int
    /// The commit the page was read at.
    public var commit: String?
    /// Pass as `continue` for the next page; absent on the last one.
    public var `continue`: String?

    init(index: PreviewIndex, query: PreviewQuery, domain: String, commit: String?) {
        let page = index.page(after: query.after, limit: query.limit, filter: query.filter)
        previews = page.items.map { PreviewAnswer($0.state(domain: domain), commit: nil, changed: nil) }
        count = previews.count
        total = page.total
        self.commit = commit
        self.continue = page.next.map(PreviewQuery.encode(after:))
    }
}
