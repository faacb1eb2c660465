/// Why JSON text could not be parsed. Offsets are byte offsets into the UTF-8 input.
public enum JSONError: Error, Hashable, Sendable {
    /// The input ended in the middle of a value (or was empty).
    case unexpectedEnd
    /// A byte that cannot start or continue the value at this point (including an unescaped
    /// control character inside a string).
    case unexpectedCharacter(offset: Int)
    /// A number that does not follow the JSON grammar (`-`, `01`, `1.`, `1e`).
    case invalidNumber(offset: Int)
    /// An unknown escape or a malformed `\u` escape in a string.
    case invalidEscape(offset: Int)
    /// A string that is not valid UTF-8 (only possible for byte input).
    case invalidUTF8
    /// Arrays and objects nested deeper than the allowed depth.
    case tooDeep
    /// Something other than whitespace after the value.
    case trailingCharacters(offset: Int)
}
