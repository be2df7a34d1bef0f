import Foundation
import KubeModel

extension ServiceSpec {
    func validate(file: String) throws {
        func fail(_ key: String, _ rule: String) -> InputError {
            InputError(code: "invalid_catalog", field: "\(file): \(key)", rule: rule)
        }
        guard NameRules.isDNSLabel(name), name.count <= 40 else {
            throw InputError(code: "invalid_catalog", field: file, rule: "service name (the file name) must be an RFC 1123 label of at most 40 characters")
        }
        guard (1...65535).contains(port) else { throw fail("port", "must be between 1 and 65535") }
        for (key, value) in [("path", path), ("healthPath", healthPath)] {
            if let value, !value.hasPrefix("/") || value.contains(where: { $0.isWhitespace }) {
                throw fail(key, "must be an absolute URL path without spaces")
            }
        }
        if let image = defaultImage {
            do { _ = try ImageReference(parsing: image) } catch { throw fail("defaultImage", error.description) }
        }
        for (key, host) in [("hosts.staging", hosts?.staging), ("hosts.production", hosts?.production)] {
            if let host, !NameRules.isDNSSubdomain(host) { throw fail(key, "must be a DNS name") }
        }
        try Self.validateEnv(env, secretEnv, prefix: "", fail: fail)
        try Self.validateResources(resources, prefix: "resources", fail: fail)
        let overrides: [(String, Overrides?)] = [("preview", environments?.preview), ("staging", environments?.staging), ("production", environments?.production)]
        for (envName, o) in overrides {
            guard let o else { continue }
            try Self.validateEnv(o.env, o.secretEnv, prefix: "environments.\(envName).", fail: fail)
            try Self.validateResources(o.resources, prefix: "environments.\(envName).resources", fail: fail)
            if let r = o.replicas, !(0...100).contains(r) { throw fail("environments.\(envName).replicas", "must be between 0 and 100") }
        }
        for p in writablePaths ?? [] where !p.hasPrefix("/") {
            throw fail("writablePaths", "must be absolute paths")
        }
    }

    static func validateEnv(_ env: [String: String]?, _ secretEnv: [String: SecretRef]?, prefix: String, fail: (String, String) -> InputError) throws {
        for name in (env ?? [:]).keys.sorted() where !NameRules.isEnvVarName(name) {
            throw fail("\(prefix)env.\(name)", "must be a valid environment variable name")
        }
        for (name, ref) in (secretEnv ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard NameRules.isEnvVarName(name) else { throw fail("\(prefix)secretEnv.\(name)", "must be a valid environment variable name") }
            guard NameRules.isDNSSubdomain(ref.secret) else { throw fail("\(prefix)secretEnv.\(name).secret", "must be a Secret name (RFC 1123 subdomain)") }
            guard !ref.key.isEmpty else { throw fail("\(prefix)secretEnv.\(name).key", "must not be empty") }
        }
    }

    static func validateResources(_ r: Resources?, prefix: String, fail: (String, String) -> InputError) throws {
        for (kind, values) in [("requests", r?.requests), ("limits", r?.limits)] {
            for (name, q) in (values ?? [:]).sorted(by: { $0.key < $1.key }) where Quantity(q) == nil {
                throw fail("\(prefix).\(kind).\(name)", "must be a Kubernetes quantity such as 250m or 512Mi")
            }
        }
    }
}

extension Catalog {
    func validate(file: String) throws {
        func fail(_ key: String, _ rule: String) -> InputError {
            InputError(code: "invalid_catalog", field: "\(file): \(key)", rule: rule)
        }
        let e = environments
        guard NameRules.isDNSSubdomain(e.preview.domain) else { throw fail("preview.domain", "must be a DNS name") }
        let maxTTL: Int
        do { maxTTL = try TTL.parse(e.preview.maxTTL, field: "preview.maxTTL", max: nil) } catch { throw fail("preview.maxTTL", error.rule) }
        do { _ = try TTL.parse(e.preview.defaultTTL, field: "preview.defaultTTL", max: maxTTL) } catch { throw fail("preview.defaultTTL", error.rule) }
        for (k, q) in e.preview.quota.sorted(by: { $0.key < $1.key }) where Quantity(q) == nil {
            throw fail("preview.quota.\(k)", "must be a Kubernetes quantity")
        }
        for (k, q) in [e.preview.limitRange.max, e.preview.limitRange.default, e.preview.limitRange.defaultRequest].compactMap({ $0 }).flatMap({ $0 }) where Quantity(q) == nil {
            throw fail("preview.limitRange.\(k)", "must be a Kubernetes quantity")
        }
        for ns in e.preview.egressNamespaces where !NameRules.isDNSLabel(ns) {
            throw fail("preview.egressNamespaces", "\"\(ns)\" must be a namespace name")
        }
        for ns in e.preview.egressNamespaces where ns.hasSuffix("-production") || ns == "production" {
            throw fail("preview.egressNamespaces", "\"\(ns)\" is a production namespace; previews never reach production")
        }
        for (key, stable) in [("staging", e.staging), ("production", e.production)] {
            let derived = "\(project)-\(key)"
            if let namespace = stable.namespace, namespace != derived {
                throw fail("\(key).namespace", "must be \(derived) (every project's namespaces are <project>-staging and <project>-production); leave the key out")
            }
            guard (1...100).contains(stable.replicas) else { throw fail("\(key).replicas", "must be between 1 and 100") }
        }
        guard e.production.replicas >= 2 else { throw fail("production.replicas", "must be at least 2") }
        do { _ = try ImageReference(parsing: e.smokeTest.image) } catch { throw fail("smokeTest.image", error.description) }
        guard NameRules.isDNSLabel(e.ingress.controllerNamespace) else { throw fail("ingress.controllerNamespace", "must be a namespace name") }
    }
}
