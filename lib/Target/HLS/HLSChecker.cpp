//===- HLSChecker.cpp - the synthesizable subset, checked on C++ text ------===//
//
// An independent check of what the emitter writes (and of any kernel a user
// brings): it tokenizes the C++ source and rejects what HLS tools cannot
// synthesize or what our kernels promise never to contain. It does not parse
// C++; it recognizes the constructs it rejects and the loop form it accepts.
//
//===----------------------------------------------------------------------===//
#include "llmc/Target/HLS/HLSCpp.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <functional>

using llvm::StringRef;

namespace {
enum class Kind { Identifier, Number, Punct, Directive, Literal };

struct Token {
  Kind kind;
  std::string text;
  unsigned line;
};

std::vector<Token> tokenize(StringRef source) {
  std::vector<Token> tokens;
  unsigned line = 1;
  bool lineStart = true;
  size_t i = 0, n = source.size();
  while (i < n) {
    char c = source[i];
    if (c == '\n') {
      ++line;
      lineStart = true;
      ++i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (source.substr(i).starts_with("//")) {
      while (i < n && source[i] != '\n')
        ++i;
      continue;
    }
    if (source.substr(i).starts_with("/*")) {
      size_t end = source.find("*/", i + 2);
      end = end == StringRef::npos ? n : end + 2;
      line += source.substr(i, end - i).count('\n');
      i = end;
      continue;
    }
    if (c == '#' && lineStart) {
      size_t end = source.find('\n', i);
      end = end == StringRef::npos ? n : end;
      tokens.push_back({Kind::Directive, source.substr(i, end - i).rtrim().str(),
                        line});
      i = end;
      continue;
    }
    lineStart = false;
    if (c == '"' || c == '\'') {
      size_t j = i + 1;
      while (j < n && source[j] != c) {
        if (source[j] == '\\')
          ++j;
        ++j;
      }
      tokens.push_back({Kind::Literal, "\"\"", line});
      i = std::min(n, j + 1);
      continue;
    }
    if (llvm::isAlpha(c) || c == '_') {
      size_t j = i;
      while (j < n && (llvm::isAlnum(source[j]) || source[j] == '_'))
        ++j;
      tokens.push_back({Kind::Identifier, source.substr(i, j - i).str(), line});
      i = j;
      continue;
    }
    if (llvm::isDigit(c) || (c == '.' && i + 1 < n && llvm::isDigit(source[i + 1]))) {
      size_t j = i;
      while (j < n && (llvm::isAlnum(source[j]) || source[j] == '.' ||
                       ((source[j] == '+' || source[j] == '-') &&
                        llvm::is_contained("eEpP", source[j - 1]))))
        ++j;
      tokens.push_back({Kind::Number, source.substr(i, j - i).str(), line});
      i = j;
      continue;
    }
    static const char *pairs[] = {"::", "+=", "-=", "*=", "/=", "<=", ">=",
                                  "==", "!=", "->", "++", "--", "&&", "||",
                                  "<<", ">>"};
    std::string punct(1, c);
    for (const char *pair : pairs)
      if (source.substr(i).starts_with(pair)) {
        punct = pair;
        break;
      }
    tokens.push_back({Kind::Punct, punct, line});
    i += punct.size();
  }
  return tokens;
}

bool isTypeName(StringRef text) {
  static const llvm::StringSet<> types = {
      "float",   "double",   "bool",     "char",     "int",     "long",
      "short",   "unsigned", "signed",   "void",     "auto",    "int8_t",
      "int16_t", "int32_t",  "int64_t",  "uint8_t",  "uint16_t", "uint32_t",
      "uint64_t", "size_t"};
  return types.contains(text);
}

bool isIntegerLiteral(const Token &token) {
  if (token.kind != Kind::Number)
    return false;
  StringRef text = token.text;
  text = text.rtrim("uUlL");
  return !text.empty() && llvm::all_of(text, llvm::isDigit);
}
} // namespace

std::vector<std::string> llmc::checkHLSCpp(StringRef source) {
  std::vector<std::string> problems;
  std::vector<Token> tokens = tokenize(source);
  auto problem = [&](unsigned line, const llvm::Twine &message) {
    problems.push_back(("line " + llvm::Twine(line) + ": " + message).str());
  };
  auto at = [&](size_t i) -> const Token & {
    static const Token end{Kind::Punct, "", 0};
    return i < tokens.size() ? tokens[i] : end;
  };
  auto matching = [&](size_t open) -> size_t {
    std::string o = tokens[open].text;
    std::string c = o == "{" ? "}" : o == "(" ? ")" : "]";
    int depth = 0;
    for (size_t j = open; j < tokens.size(); ++j) {
      if (tokens[j].kind != Kind::Punct)
        continue;
      if (tokens[j].text == o)
        ++depth;
      else if (tokens[j].text == c && --depth == 0)
        return j;
    }
    return tokens.size();
  };

  static const llvm::StringSet<> allowedHeaders = {
      "cmath", "cstdint", "math.h", "stdint.h", "hls_math.h", "ap_int.h",
      "ap_fixed.h", "ap_float.h"};
  static const llvm::StringSet<> banned = {
      "new", "delete", "malloc", "calloc", "realloc", "free", "alloca",
      "while", "do", "goto", "throw", "try", "catch", "virtual", "setjmp",
      "longjmp"};
  static const llvm::StringSet<> containers = {
      "vector", "list", "map", "set", "multimap", "multiset", "unordered_map",
      "unordered_set", "deque", "queue", "stack", "priority_queue", "string",
      "basic_string", "array", "function", "shared_ptr", "unique_ptr",
      "valarray", "forward_list"};

  // Function definitions (at brace depth 0) and their bodies.
  struct Function {
    std::string name;
    size_t begin, end;
    unsigned line;
  };
  std::vector<Function> functions;
  int depth = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token &t = tokens[i];
    if (t.kind == Kind::Punct && t.text == "{")
      ++depth;
    else if (t.kind == Kind::Punct && t.text == "}")
      --depth;
    if (depth == 0 && t.kind == Kind::Identifier && at(i + 1).text == "(" &&
        i > 0 && (tokens[i - 1].kind == Kind::Identifier)) {
      size_t close = matching(i + 1);
      if (at(close + 1).text == "{") {
        size_t end = matching(close + 1);
        functions.push_back({t.text, close + 1, end, t.line});
      }
    }
  }
  llvm::StringSet<> defined;
  for (const Function &f : functions)
    defined.insert(f.name);

  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token &t = tokens[i];
    if (t.kind == Kind::Directive) {
      StringRef text = StringRef(t.text).drop_front().ltrim();
      if (text.consume_front("include")) {
        text = text.trim();
        StringRef header = text.drop_front().drop_back();
        if (!allowedHeaders.contains(header))
          problem(t.line, "#include " + text +
                              " is not part of the synthesizable subset");
      }
      continue;
    }
    if (t.kind != Kind::Identifier)
      continue;
    if (banned.contains(t.text)) {
      StringRef what = llvm::StringSwitch<StringRef>(t.text)
                           .Cases({"while", "do", "goto"}, "an unbounded loop")
                           .Cases({"new", "delete", "malloc", "calloc",
                                   "realloc", "free", "alloca"},
                                  "dynamic allocation")
                           .Default("a construct HLS cannot synthesize");
      problem(t.line, "'" + t.text + "' is " + what);
      continue;
    }
    if (t.text == "std" && at(i + 1).text == "::" &&
        containers.contains(at(i + 2).text)) {
      problem(t.line, "std::" + at(i + 2).text +
                          " is a standard container (dynamic memory)");
      continue;
    }
    if (isTypeName(t.text)) {
      size_t j = i + 1;
      if (at(j).text == "const")
        ++j;
      if (at(j).text == "*" || at(j).text == "&") {
        problem(t.line, std::string(at(j).text == "*" ? "a pointer" : "a reference") +
                            " ('" + t.text + " " + at(j).text +
                            "'); kernels use fixed-size arrays");
        continue;
      }
      // Array declarations: TYPE NAME [ LITERAL ].
      if (at(j).kind == Kind::Identifier && at(j + 1).text == "[") {
        size_t close = matching(j + 1);
        if (close != j + 3 || !isIntegerLiteral(at(j + 2)))
          problem(t.line, "array '" + at(j).text +
                              "' has a size that is not an integer literal");
        // Locals must be static: a large array on the stack breaks C-sim.
        bool inBody = llvm::any_of(functions, [&](const Function &f) {
          return i > f.begin && i < f.end;
        });
        bool isStatic = (i > 0 && tokens[i - 1].text == "static") ||
                        (i > 1 && tokens[i - 1].text == "const" &&
                         tokens[i - 2].text == "static");
        if (inBody && !isStatic)
          problem(t.line, "local array '" + at(j).text + "' is not static");
      }
      continue;
    }
    if (t.text == "for" && at(i + 1).text == "(") {
      size_t close = matching(i + 1);
      // for ( TYPE IV = [-]INT ; IV < [-]INT ; IV += INT )
      size_t j = i + 2;
      bool ok = isTypeName(at(j).text) && at(j + 1).kind == Kind::Identifier;
      std::string iv = at(j + 1).text;
      j += 2;
      auto literal = [&](size_t &k) {
        if (at(k).text == "-")
          ++k;
        return isIntegerLiteral(at(k++));
      };
      ok = ok && at(j++).text == "=" && literal(j) && at(j++).text == ";" &&
           at(j++).text == iv && at(j++).text == "<" && literal(j) &&
           at(j++).text == ";" && at(j++).text == iv && at(j++).text == "+=" &&
           isIntegerLiteral(at(j++)) && j == close;
      if (!ok) {
        problem(t.line, "a for loop whose bounds are not integer literals "
                        "(HLS needs static trip counts)");
        continue;
      }
      std::string label = i >= 2 && tokens[i - 1].text == ":"
                              ? tokens[i - 2].text
                              : std::string("<unnamed>");
      if (at(close + 1).text != "{") {
        problem(t.line, "loop '" + label + "' has no braced body");
        continue;
      }
      size_t end = matching(close + 1);
      bool innermost = true;
      for (size_t k = close + 2; k < end; ++k)
        if (tokens[k].kind == Kind::Identifier && tokens[k].text == "for")
          innermost = false;
      if (!innermost)
        continue;
      bool pipelined = false;
      for (size_t k = close + 2; k < end && tokens[k].kind == Kind::Directive;
           ++k) {
        llvm::SmallVector<StringRef> words;
        StringRef(tokens[k].text).split(words, ' ', -1, false);
        if (words.size() >= 4 && words[0] == "#pragma" &&
            words[1].equals_insensitive("HLS") &&
            words[2].equals_insensitive("PIPELINE"))
          pipelined |= llvm::is_contained(words, "II=1");
      }
      if (!pipelined)
        problem(t.line, "innermost loop '" + label +
                            "' is not pipelined at II=1 (#pragma HLS "
                            "PIPELINE II=1 first in its body)");
    }
  }

  // Recursion: a cycle in the calls between the functions defined here.
  llvm::StringMap<llvm::StringSet<>> calls;
  for (const Function &f : functions)
    for (size_t k = f.begin; k < f.end; ++k)
      if (tokens[k].kind == Kind::Identifier && defined.contains(tokens[k].text) &&
          at(k + 1).text == "(")
        calls[f.name].insert(tokens[k].text);
  for (const Function &f : functions) {
    llvm::StringSet<> seen;
    std::function<bool(StringRef)> reaches = [&](StringRef from) {
      for (const auto &callee : calls[from]) {
        if (callee.getKey() == f.name)
          return true;
        if (seen.insert(callee.getKey()).second && reaches(callee.getKey()))
          return true;
      }
      return false;
    };
    if (reaches(f.name))
      problem(f.line, "function '" + f.name + "' is recursive");
  }
  return problems;
}
