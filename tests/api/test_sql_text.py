"""test_sql_text.py - every way SQL text is put together in src/ is reviewed: no value is
formatted or appended into it (bound parameters only).

hardening's SqlBindingTest looks at format calls that look like SQL (SQL words in the
format, or "sql" in the destination's name). This check starts from the other end: from
every place SQL text reaches SQLite (sqlite3_prepare*, sqlite3_exec, db_prepare, db_run,
and every function that hands one of its parameters on to these), it follows the text back
within its function: string literals and compiled-in macros are fixed text; a buffer or
char array is followed to every call that writes into it (buf_addf, buf_vaddf, snprintf,
vsnprintf, asprintf, sqlite3_*printf, and the plain appends buf_adds/buf_add/buf_addch),
also through helper functions the buffer is passed to, and through the struct members it
lives in. In those calls every conversion must be a %s of a compiled-in identifier (the
same reviewed list as SqlBindingTest) and every appended string fixed text or such an
identifier, whether or not the format looks like SQL. Whatever cannot be followed (a table
of statements, text from elsewhere) must be on ALLOWED below, each entry with the reason
it is fixed text; an entry that no longer matches anything fails the test, so the list
stays exact.
"""
import os
import re
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "..", "src")

# Where SQL text reaches SQLite: function -> index of its SQL argument.
SINKS = {"sqlite3_prepare": 1, "sqlite3_prepare_v2": 1, "sqlite3_prepare_v3": 1,
         "sqlite3_prepare16": 1, "sqlite3_prepare16_v2": 1, "sqlite3_prepare16_v3": 1,
         "sqlite3_exec": 1, "db_prepare": 1, "db_run": 1}
# Calls that write into their first argument: function -> index of the format (None: a
# plain append whose second argument is the text).
WRITERS = {"buf_addf": 1, "buf_vaddf": 1, "snprintf": 2, "vsnprintf": 2, "asprintf": 1,
           "vasprintf": 1, "sqlite3_snprintf": 2, "sqlite3_str_appendf": 1,
           "buf_adds": None, "buf_add": None, "sqlite3_str_appendall": None,
           "sqlite3_str_append": None}
# Calls that return formatted text: function -> index of the format.
FORMATTERS = {"sqlite3_mprintf": 0, "sqlite3_vmprintf": 0}
CONVERSION = re.compile(r"%(?:%|[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z|j|t|L)?([a-zA-Z]))")
# Arguments that are compiled-in SQL identifiers or fragments (as in test_hardening.py's
# SqlBindingTest, which reviewed them): a descriptor's table and column names, an
# operator or direction chosen from constants, a fragment built the same way.
IDENTIFIER_ARGUMENT = re.compile(
    r"^(?:\w+(?:->|\.))*(?:table|fts_table|owner_field|column|\w+_column|op|direction|collate|"
    r"less_or_more|owner|what|head|where\.data|list_filter)$"
    r"|^(?:field|member|parent_field)->name$"
    r"|^comparison\(\w+\)$")

# Reviewed places where SQL text is not followed further: (file, function, the SQL
# expression or the writing call, as it appears with white space collapsed). Each is fixed
# text for the reason given.
ALLOWED = {
    # db_migrate.c: the migrations are the files migrations/NNNN_*.sql, which the build
    # compiles into this table (tools/embed); nothing else is ever added to it.
    ("store/db_migrate.c", "db_migrate", "embedded_migrations"),
    # db_statements.c: CRM_QUERY_PLAN_LOG (tests only) explains the statement that
    # db_prepare() is preparing: `sql` is db_prepare's own argument, which this check
    # follows at every caller of db_prepare.
    ("store/db_statements.c", "plan_log_write",
     'buf_addf(&explain, "EXPLAIN QUERY PLAN %s", sql)'),
    # segment_rule.c: field->expression comes from the static const table of rule fields
    # (rule_fields[]: SQL expressions over the contact's columns, all string literals);
    # the user's rule picks a field by name, never supplies the text.
    ("store/segment_rule.c", "emit_expression", "buf_adds(c->sql, field->expression)"),
    # fts_pending.c: the statements of each full-text table are written once, when a
    # descriptor registers (fts_pending_register), from its compiled-in fts_table, table and
    # search_columns (static strings of src/core/*.c), refused if a name holds a quote.
    ("store/fts_pending.c", "fts_pending_flush", "fts_tables[i].index_sql"),
    ("store/fts_pending.c", "fts_pending_flush", "fts_tables[i].forget_sql"),
}


def strip_comments(text):
    """C source without comments and preprocessor lines (strings kept, lines kept)."""
    out, i = [], 0
    at_line_start = True
    while i < len(text):
        if at_line_start and text[i] == "#":
            end = i
            while True:
                end = text.find("\n", end)
                if end < 0 or text[end - 1] != "\\":
                    break
                end += 1
            end = len(text) if end < 0 else end
            out.append("\n" * text.count("\n", i, end))
            i = end
            continue
        c = text[i]
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = len(text) if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif c in "\"'":
            end = i + 1
            while end < len(text) and text[end] != c:
                end += 2 if text[end] == "\\" else 1
            out.append(text[i:end + 1])
            i = end + 1
        else:
            out.append(c)
            i += 1
        if c == "\n":
            at_line_start = True
        elif not c.isspace():
            at_line_start = False
    return "".join(out)


def skip_string(text, i):
    end = i + 1
    while end < len(text) and text[end] != text[i]:
        end += 2 if text[end] == "\\" else 1
    return end + 1


def call_arguments(text, open_paren):
    """(arguments, index after the closing parenthesis) of the call at text[open_paren]."""
    depth, i, args, current = 0, open_paren, [], []
    while i < len(text):
        c = text[i]
        if c in "\"'":
            end = skip_string(text, i)
            current.append(text[i:end])
            i = end
            continue
        if c in "([{":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(" ".join("".join(current).split()))
                return [a for a in args if a or len(args) > 1], i + 1
        elif c == "," and depth == 1:
            args.append(" ".join("".join(current).split()))
            current = []
            i += 1
            continue
        current.append(c)
        i += 1
    return args, len(text)


class Function:
    def __init__(self, file, name, params, body, line, text):
        self.file, self.name, self.params, self.body, self.line = file, name, params, body, line
        self.text = text  # the whole file (without comments), for its tables


def functions_of(file, source):
    """The function definitions of C `source` (comments and preprocessor lines removed)."""
    text = strip_comments(source)
    found, depth, i, start = [], 0, 0, None
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = skip_string(text, i)
            continue
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and start is not None:
                head = text[max(0, start - 2000):start].rstrip()
                if head.endswith(")") and not re.search(r"=\s*$", head):
                    # the parameter list: back to its matching '('
                    level, j = 0, len(head) - 1
                    while j >= 0:
                        if head[j] == ")":
                            level += 1
                        elif head[j] == "(":
                            level -= 1
                            if level == 0:
                                break
                        j -= 1
                    name = re.search(r"(\w+)\s*$", head[:j])
                    if name and name.group(1) not in ("if", "while", "for", "switch"):
                        params = [" ".join(p.split()) for p in head[j + 1:-1].split(",")]
                        names = [re.search(r"(\w+)\s*(?:\[[^\]]*\])?$", p) for p in params]
                        found.append(Function(file, name.group(1),
                                              [m.group(1) if m else "" for m in names],
                                              text[start:i + 1],
                                              text.count("\n", 0, start) + 1, text))
                start = None
        i += 1
    return found


def calls(body, names):
    """(name, arguments, offset) of every call in `body` of a function in `names`."""
    pattern = re.compile(r"(?<![\w.>])(%s)\s*\(" % "|".join(sorted(names, key=len, reverse=True)))
    for match in pattern.finditer(body):
        args, _ = call_arguments(body, match.end() - 1)
        yield match.group(1), args, match.start()


# A function-like macro of fixed arguments: fixed text.
MACRO_CALL = re.compile(r'\b[A-Z][A-Z0-9_]*\(\s*(?:(?:"(?:[^"\\]|\\.)*"|[A-Z][A-Z0-9_]*)\s*,?\s*)*\)')
LITERAL = re.compile(r'^(?:"(?:[^"\\]|\\.)*"\s*|[A-Z][A-Z0-9_]*\s*)+$')


def is_fixed(expression):
    """String literals and upper-case macros (compiled-in text), or a choice between them."""
    expression = expression.strip()
    while expression.startswith("(") and expression.endswith(")") and \
            call_arguments(expression, 0)[1] == len(expression):
        expression = expression[1:-1].strip()
    # a function-like macro (SUBSCRIBED("?1", "?2")) of fixed arguments is fixed text
    for _ in range(4):
        expression = re.sub(MACRO_CALL, '""',
                            expression)
    if LITERAL.match(expression) and '"' in expression or \
            re.fullmatch(r"[A-Z][A-Z0-9_]*", expression):
        return True
    ternary = re.fullmatch(r"[^?]+\?\s*(.+?)\s*:\s*(.+)", expression)
    return bool(ternary) and is_fixed(ternary.group(1)) and is_fixed(ternary.group(2))


def identifier_or_fixed(argument):
    """A %s argument that is fixed text, a reviewed identifier, or a choice between them."""
    argument = " ".join(argument.split())
    if is_fixed(argument) or IDENTIFIER_ARGUMENT.match(argument):
        return True
    ternary = re.fullmatch(r"(.+?)\s*\?\s*(.+?)\s*:\s*(.+)", argument)
    return bool(ternary) and identifier_or_fixed(ternary.group(2)) and \
        identifier_or_fixed(ternary.group(3))


TABLE_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|\.\w+\s*=|\[\s*\w+\s*\]\s*=|&\s*\w+(?:->\w+)*'
                          r"|\b(?:NULL|true|false)\b|\b[A-Z][A-Z0-9_]*\b|\b\d+\b|[{},\s]")


def table_is_fixed(text, name):
    """Whether `name` is a const array (a table) in `text` whose initializer holds only
    string literals, macros, numbers, designators and addresses: fixed text."""
    match = re.search(r"\bconst\b[^;{}=]*?(?:\{[^{}]*\}\s*)?\b%s\s*(?:\[[^\]]*\]\s*)+=\s*\{"
                      % re.escape(name), text)
    if not match:
        return False
    level, i = 0, match.end() - 1
    start = i
    while i < len(text):
        if text[i] in "\"'":
            i = skip_string(text, i)
            continue
        if text[i] == "{":
            level += 1
        elif text[i] == "}":
            level -= 1
            if level == 0:
                break
        i += 1
    initializer = text[start:i + 1]
    for _ in range(4):
        initializer = re.sub(MACRO_CALL, '""',
                             initializer)
    return TABLE_TOKENS.sub("", initializer) == ""


def root_of(expression):
    """The buffer or variable that SQL text `expression` comes from: 'sql' for sql.data,
    &sql, buf_detach(&sql, ...) or (const char *)sql; None when it is something else."""
    e = " ".join(expression.split())
    e = re.sub(r"^\((?:const )?(?:unsigned )?char \*\)\s*", "", e)
    m = re.fullmatch(r"buf_detach\(\s*&?(.+?)\s*,.*\)", e)
    if m:
        e = m.group(1)
    e = re.sub(r"^&\s*", "", e)
    e = re.sub(r"(?:\.|->)data$", "", e)
    if re.fullmatch(r"\w+(?:(?:\.|->)\w+)*", e):
        return e
    return None


class Analysis:
    def __init__(self, sources):
        self.functions = []
        for file, source in sources:
            self.functions += functions_of(file, source)
        self.sinks = {name: {index} for name, index in SINKS.items()}
        self.sql_params = set()       # (function name, parameter index): a buffer of SQL
        self.sql_members = set()      # member names whose buffer holds SQL: b->sql
        self.problems = []
        self.allowed_used = set()

    def allowed(self, function, text):
        key = (function.file, function.name, " ".join(text.split()))
        if key in ALLOWED:
            self.allowed_used.add(key)
            return True
        return False

    def problem(self, function, offset, message):
        line = function.line + function.body.count("\n", 0, offset)
        self.problems.append("%s:%d: %s: %s" % (function.file, line, function.name, message))

    def make_sink(self, function, parameter):
        """SQL text reaches SQLite through `parameter` of `function`: a wrapper."""
        indexes = self.sinks.setdefault(function.name, set())
        index = function.params.index(parameter)
        if index not in indexes:
            indexes.add(index)
            self.grew = True

    def run(self):
        # Until no new wrapper is found (a function that hands a parameter on to SQLite,
        # directly or through a variable, is one; its callers are then followed too).
        self.grew = True
        while self.grew:
            self.grew = False
            self.problems, self.allowed_used, self.sql_members = [], set(), set()
            roots = self.pass_once()
        # A wrapper found here that nobody calls cannot have its text followed.
        for function in self.functions:
            if function.name in self.sinks and function.name not in SINKS and \
                    not any(re.search(r"(?<![\w.>])%s\s*\(" % function.name, f.body)
                            for f in self.functions if f is not function):
                self.problem(function, 0, "hands SQL text from its parameters to SQLite, and"
                             " no caller was found to check what they pass")
        return self

    def pass_once(self):
        # 2. Every SQL argument of every sink, followed back within its function.
        roots = {}  # function name -> set of roots holding SQL
        for function in self.functions:
            for name, args, offset in calls(function.body, self.sinks):
                for index in sorted(self.sinks[name]):
                    if index < len(args):
                        self.follow(function, args[index], offset, roots)
        # 3. Buffers handed to helpers: their parameter holds SQL too (to a fixed point).
        by_name = {}
        for function in self.functions:
            by_name.setdefault(function.name, []).append(function)
        done = set()
        while True:
            pending = [(f, r) for f in self.functions for r in roots.get(f.name, ())
                       if (f.name, r) not in done]
            if not pending:
                break
            for function, root in pending:
                done.add((function.name, root))
                for name, args, offset in calls(function.body, by_name):
                    for i, arg in enumerate(args):
                        if root_of(arg) == root and not re.match(r"^\w+\s*\(", arg):
                            for callee in by_name[name]:
                                if i < len(callee.params) and callee.params[i]:
                                    if (callee.name, i) not in self.sql_params:
                                        self.sql_params.add((callee.name, i))
                                        roots.setdefault(callee.name, set()).add(
                                            callee.params[i])
        for function in self.functions:
            for member in self.sql_members:
                for match in re.finditer(r"\b\w+(?:->|\.)%s\b" % member, function.body):
                    roots.setdefault(function.name, set()).add(match.group(0))
        # 4. Every write into a buffer that holds SQL.
        for function in self.functions:
            targets = roots.get(function.name, set())
            if not targets:
                continue
            for name, args, offset in calls(function.body, WRITERS):
                if args and root_of(args[0]) in targets:
                    self.check_write(function, name, args, offset, roots)
        return roots

    def follow(self, function, expression, offset, roots):
        if is_fixed(expression) or self.allowed(function, expression):
            return
        table = re.match(r"^(\w+)\s*\[[^\]]*\](?:\s*\[[^\]]*\])*(?:\.\w+)?$", expression.strip())
        if table and table_is_fixed(function.text, table.group(1)):
            return  # a table of fixed text
        root = root_of(expression)
        if root is None:
            self.problem(function, offset, "cannot tell where the SQL %r comes from" % expression)
            return
        if root in function.params:
            self.make_sink(function, root)  # a wrapper: followed at its callers
            return
        base = re.match(r"(\w+)(?:->|\.)", root)
        if base and base.group(1) in function.params and \
                not re.search(r"(?:->|\.)sql$", root):
            self.make_sink(function, base.group(1))  # text inside a parameter's struct
            return
        declared = re.search(r"(?:\bstruct buf|\bchar\b[\s*]*(?:const\s*)?\**)\s*%s\s*[\[=;]"
                             % re.escape(root), function.body)
        assigned = re.search(r"(?<![\w.>])%s\s*=(?!=)" % re.escape(root), function.body)
        if not (declared or assigned or re.search(r"(?:->|\.)\w+$", root)):
            self.problem(function, offset, "cannot tell where the SQL %r comes from" % expression)
            return
        member = re.search(r"(?:->|\.)(\w+)$", root)
        if member:
            self.sql_members.add(member.group(1))
        roots.setdefault(function.name, set()).add(root)
        # A pointer assigned from elsewhere: each assigned value is followed the same way.
        for match in re.finditer(r"(?<![\w.>])%s\s*=(?!=)\s*([^;]+);" % re.escape(root),
                                 function.body):
            value = match.group(1)
            formatter = re.match(r"(%s)\s*\(" % "|".join(FORMATTERS), value)
            if formatter:
                args, _ = call_arguments(value, formatter.end() - 1)
                self.check_format(function, formatter.group(1), args,
                                  FORMATTERS[formatter.group(1)], match.start())
            elif value.strip() in ("NULL", "BUF_INIT", "{ 0 }", "{0}"):
                continue
            elif root_of(value) is not None and root_of(value) != root or \
                    re.match(r"\w+\s*\[", value.strip()):
                self.follow(function, value, match.start(), roots)
            elif not is_fixed(value) and not self.allowed(function, value):
                self.problem(function, match.start(),
                             "cannot tell where the SQL %r comes from" % value.strip())

    def check_write(self, function, name, args, offset, roots):
        call = "%s(%s)" % (name, ", ".join(args))
        if self.allowed(function, call):
            return
        index = WRITERS[name]
        if index is None:  # a plain append: fixed text or an identifier only
            text = args[1] if len(args) > 1 else ""
            if is_fixed(text) or identifier_or_fixed(text):
                return
            simple = re.fullmatch(r"\w+(?:\s*\[[^\]]*\])*", text)
            if simple:  # a variable, parameter or table: followed like SQL text itself
                self.follow(function, text, offset, roots)
                return
            self.problem(function, offset, "%s appends %r to SQL: bind it" % (name, text))
            return
        self.check_format(function, name, args, index, offset, roots)

    def check_format(self, function, name, args, index, offset, roots=None):
        call = "%s(%s)" % (name, ", ".join(args))
        if self.allowed(function, call):
            return
        if index >= len(args):
            return
        if not is_fixed(args[index]):
            self.problem(function, offset, "%s with a format that is not fixed text: %s"
                         % (name, call))
            return
        fmt = " ".join(re.findall(r'"((?:[^"\\]|\\.)*)"', args[index]))
        conversions = [m.group(1) for m in CONVERSION.finditer(fmt) if m.group(1)]
        if re.search(r"['\"]%s|%s['\"]", fmt.replace('\\"', '"')):
            self.problem(function, offset, "a quoted %%s puts a value into SQL: %s" % call)
        for conversion, argument in zip(conversions, args[index + 1:]):
            if conversion != "s":
                self.problem(function, offset, "%%%s formats a value into SQL: %s"
                             % (conversion, call))
            elif identifier_or_fixed(argument):
                continue
            elif roots is not None and re.fullmatch(r"\w+", argument) and \
                    argument in function.params:
                self.make_sink(function, argument)  # the callers' text is followed
            else:
                self.problem(function, offset, "%r is formatted into SQL: %s"
                             % (argument, call))
        if len(conversions) > len(args) - index - 1:
            self.problem(function, offset, "more conversions than arguments: %s" % call)


def analyse(sources):
    return Analysis(sources).run()


class SqlTextTest(unittest.TestCase):
    def problems_of(self, code):
        return analyse([("planted.c", code)]).problems

    def test_the_check_follows_sql_text_back_to_every_write(self):
        bad = {
            "a value formatted without SQL words, into a buffer not named sql":
                'static int f(struct db *db, const char *v) { struct buf q = BUF_INIT;\n'
                ' buf_adds(&q, "SELECT 1 FROM t WHERE a"); buf_addf(&q, " = %s", v);\n'
                ' return db_prepare(db, q.data) != NULL; }',
            "a number formatted into the text":
                'static void f(struct db *db, int n) { struct buf text = BUF_INIT;\n'
                ' buf_addf(&text, "%d", n); db_prepare(db, text.data); }',
            "a value appended with buf_adds":
                'static void f(struct db *db, const char *name) { struct buf s = BUF_INIT;\n'
                ' buf_adds(&s, "SELECT * FROM t WHERE n = \'"); buf_adds(&s, name);\n'
                ' db_prepare(db, s.data); }',
            "snprintf into a char array":
                'static void f(sqlite3 *h, long long id) { char q[128]; sqlite3_stmt *s;\n'
                ' snprintf(q, sizeof(q), "DELETE FROM t WHERE id = %lld", id);\n'
                ' sqlite3_prepare_v2(h, q, -1, &s, NULL); }',
            "a helper that formats into the buffer it is given":
                'static void where(struct buf *out, const char *v) { buf_addf(out, " %s", v); }\n'
                'static void f(struct db *db, const char *v) { struct buf b = BUF_INIT;\n'
                ' buf_adds(&b, "SELECT 1"); where(&b, v); db_prepare(db, b.data); }',
            "a wrapper around db_prepare":
                'static sqlite3_stmt *prep(struct db *db, const char *text)'
                ' { return db_prepare(db, text); }\n'
                'static void f(struct db *db, const char *v) { struct buf b = BUF_INIT;\n'
                ' buf_addf(&b, "SELECT %s", v); prep(db, b.data); }',
            "SQLite's own printf":
                'static void f(sqlite3 *h, const char *v) { char *q;\n'
                ' q = sqlite3_mprintf("SELECT %Q", v); sqlite3_exec(h, q, 0, 0, 0); }',
            "asprintf":
                'static void f(sqlite3 *h, const char *v) { char *q = NULL;\n'
                ' asprintf(&q, "SELECT \'%s\'", v); sqlite3_exec(h, q, 0, 0, 0); }',
            "a format that is not fixed text":
                'static void f(struct db *db, const char *fmt, va_list a) {\n'
                ' struct buf b = BUF_INIT; buf_vaddf(&b, fmt, a); db_prepare(db, b.data); }',
            "SQL text from a place the check cannot follow":
                'static void f(struct db *db, const char *(*g)(void)) { db_prepare(db, g()); }',
            "a struct member holding the SQL":
                'struct q { struct buf sql; };\n'
                'static void add(struct q *q, int n) { buf_addf(&q->sql, " LIMIT %d", n); }\n'
                'static void f(struct db *db, struct q *q) { db_prepare(db, q->sql.data); }',
        }
        for what, code in bad.items():
            self.assertTrue(self.problems_of(code), "not caught: " + what)
        good = [
            'static void f(struct db *db) { db_prepare(db, "SELECT 1 FROM t WHERE id = ?"); }',
            'static void f(struct db *db, bool a) { db_prepare(db, a ? "SELECT 1" : "SELECT 2"); }',
            'static void f(struct db *db, const struct resource *r) { struct buf sql = BUF_INIT;\n'
            ' buf_addf(&sql, "SELECT %s FROM %s WHERE id = ?", r->id_column, r->table);\n'
            ' buf_adds(&sql, " ORDER BY id"); buf_addch(&sql, \' \');\n'
            ' db_prepare(db, sql.data); }',
            # formats into other buffers are not SQL's business here
            'static void f(struct db *db, int n) { struct buf m = BUF_INIT;\n'
            ' buf_addf(&m, "limit %d", n); db_prepare(db, "SELECT 1"); }',
        ]
        for code in good:
            self.assertEqual([], self.problems_of(code), code)

    def test_every_sql_text_in_the_source_is_fixed_or_reviewed(self):
        sources = []
        for root, _, names in os.walk(SOURCE):
            for name in sorted(names):
                if name.endswith(".c") and name != "buf.c":
                    path = os.path.join(root, name)
                    with open(path, encoding="utf-8", errors="replace") as source:
                        sources.append((os.path.relpath(path, SOURCE), source.read()))
        analysis = analyse(sources)
        self.assertGreater(len(analysis.functions), 500)
        self.assertGreater(len(analysis.sinks), len(SINKS))  # wrappers were found
        self.assertEqual([], analysis.problems)
        self.assertEqual(set(), ALLOWED - analysis.allowed_used,
                         "allow-list entries that match nothing any more: remove them")


if __name__ == "__main__":
    unittest.main()
