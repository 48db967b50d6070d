/// Typed read access to identify/group traits, with Segment's reserved traits.
///
/// Reserved traits are read in camelCase or snake_case (`firstName` / `first_name`),
/// because client libraries and hand-written integrations send both.
public struct Traits: Sendable, Hashable {
    /// The traits object as sent.
    public let json: JSONObject

    /// Wraps a traits object.
    public init(_ json: JSONObject) {
        self.json = json
    }

    /// The first of `names` that is present and not null.
    func first(_ names: String...) -> JSONValue? {
        for name in names {
            if let value = json[name], !value.isNull { return value }
        }
        return nil
    }

    /// `email`.
    public var email: String? { first("email")?.stringValue }
    /// `firstName` / `first_name`.
    public var firstName: String? { first("firstName", "first_name")?.stringValue }
    /// `lastName` / `last_name`.
    public var lastName: String? { first("lastName", "last_name")?.stringValue }
    /// `name`, or first and last name joined when `name` is absent.
    public var name: String? {
        if let name = first("name")?.stringValue { return name }
        let parts = [firstName, lastName].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }
    /// `phone`.
    public var phone: String? { first("phone")?.identifierText }
    /// `username`.
    public var username: String? { first("username")?.stringValue }
    /// `title`.
    public var title: String? { first("title")?.stringValue }
    /// `website`.
    public var website: String? { first("website")?.stringValue }
    /// `avatar`.
    public var avatar: String? { first("avatar")?.stringValue }
    /// `description`.
    public var description: String? { first("description")?.stringValue }
    /// `gender`.
    public var gender: String? { first("gender")?.stringValue }
    /// `age`.
    public var age: JSONNumber? { first("age")?.numberValue }
    /// `birthday`, as sent (ISO-8601 date or time).
    public var birthday: String? { first("birthday")?.stringValue }
    /// `createdAt` / `created_at`, as sent.
    public var createdAt: String? { first("createdAt", "created_at")?.stringValue }
    /// `id`.
    public var id: String? { first("id")?.identifierText }
    /// `plan` (common in group traits).
    public var plan: String? { first("plan")?.stringValue }
    /// `industry` (group traits).
    public var industry: String? { first("industry")?.stringValue }
    /// `employees` (group traits).
    public var employees: JSONValue? { first("employees") }
    /// `address`: city, country, postalCode / postal_code, state, street.
    public var address: Address? { first("address")?.objectValue.map(Address.init) }
    /// `company`: name, id, industry, employee_count, plan.
    public var company: JSONObject? { first("company")?.objectValue }

    /// A postal address trait.
    public struct Address: Sendable, Hashable {
        /// The address object as sent.
        public let json: JSONObject
        init(_ json: JSONObject) { self.json = json }
        /// City.
        public var city: String? { json["city"]?.stringValue }
        /// Country.
        public var country: String? { json["country"]?.stringValue }
        /// `postalCode` / `postal_code`.
        public var postalCode: String? { (json["postalCode"] ?? json["postal_code"])?.identifierText }
        /// State or region.
        public var state: String? { json["state"]?.stringValue }
        /// Street.
        public var street: String? { json["street"]?.stringValue }
    }
}
