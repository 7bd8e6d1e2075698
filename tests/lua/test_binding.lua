-- test_binding.lua -- tests of the mekiki Lua binding (mekiki_lua.c).
--
-- Runs under LuaJIT and Lua 5.4:
--     LUA_CPATH='build/lua51/?.so' luajit  tests/lua/test_binding.lua rules.d/mekiki_brands.map
--     LUA_CPATH='build/lua54/?.so' lua5.4  tests/lua/test_binding.lua rules.d/mekiki_brands.map
-- Stops with a non-zero exit status at the first failure.

local map_path = arg and arg[1]
if not map_path then
  io.stderr:write("usage: test_binding.lua path/to/mekiki_brands.map\n")
  os.exit(2)
end

local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "testlib.lua")
local check, eq, raises, test, u, read_file = T.check, T.eq, T.raises, T.test, T.u, T.read_file
local fail = T.fail

local CYR_A = u(0x410) -- CYRILLIC CAPITAL LETTER A, 2 bytes

local mekiki = require("mekiki")
local map = read_file(map_path)

test("module", function()
  eq(type(mekiki), "table", "require result")
  eq(type(mekiki.version), "string", "version type")
  check(mekiki.version:match("^%d+%.%d+%.%d+$") ~= nil, "version looks like x.y.z: " .. mekiki.version)
  eq(mekiki.version, "0.1.0", "version")
  eq(type(mekiki.unicode_version), "string", "unicode_version type")
  check(mekiki.unicode_version:match("^%d+%.%d") ~= nil,
        "unicode_version looks like N.M: " .. mekiki.unicode_version)
  check(tonumber(mekiki.unicode_version:match("^(%d+)")) >= 15, "unicode_version >= 15")
end)

test("skeleton", function()
  local s = mekiki.skeleton(CYR_A .. "mazon")
  eq(type(s), "string", "skeleton type")
  eq(s, mekiki.skeleton("amazon"), "skeleton(Cyrillic-A mazon) == skeleton(amazon)")
  eq(mekiki.skeleton("AMAZON"), mekiki.skeleton("amazon"), "case folded")
  eq(mekiki.skeleton(u(0xFF21, 0xFF4D, 0xFF41, 0xFF5A, 0xFF4F, 0xFF4E)),
     mekiki.skeleton("amazon"), "fullwidth")
  eq(mekiki.skeleton("Ama" .. u(0x200B) .. "zon"), mekiki.skeleton("amazon"), "ZWSP dropped")
  eq(mekiki.skeleton(""), "", "empty skeleton")
  eq(mekiki.skeleton(u(0x200B, 0xAD)), "", "invisible-only skeleton")
  check(mekiki.skeleton("amazon") ~= mekiki.skeleton("amazom"), "different words differ")
  -- Longer than any Lua buffer: goes through the malloc path.
  local long = string.rep(CYR_A .. "mazon ", 20000)
  eq(mekiki.skeleton(long), string.rep(mekiki.skeleton("amazon "), 20000), "long skeleton")
  -- Invalid UTF-8 does not break it: each bad byte becomes U+FFFD.
  eq(mekiki.skeleton("\255\192\175"), mekiki.skeleton(u(0xFFFD, 0xFFFD, 0xFFFD)), "invalid bytes")
  eq(mekiki.skeleton("a\0b"), mekiki.skeleton("a") .. "\0" .. mekiki.skeleton("b"), "embedded NUL")
end)

local cat, errs
test("catalogue", function()
  cat, errs = mekiki.catalogue(map)
  check(cat ~= nil, "catalogue built: " .. tostring(errs))
  eq(type(errs), "table", "errors is a table")
  eq(#errs, 0, "no errors in the shipped map (" .. tostring(errs[1]) .. ")")
  check(cat:brand_count() > 0, "brand_count > 0")
  check(cat:name_count() >= cat:brand_count(), "name_count >= brand_count")
  local s = tostring(cat)
  check(s:find("brands", 1, true) ~= nil, "tostring mentions brands: " .. s)
  check(s:find(tostring(cat:brand_count()), 1, true) ~= nil, "tostring gives the count: " .. s)
end)

test("catalogue errors", function()
  local bad = "# comment\n" ..              -- 1
              "good | Goodbrand | good.com\n" .. -- 2
              "no bar on this line\n" ..    -- 3
              "\n" ..                       -- 4
              "bad id! | Bad | bad.com\n" .. -- 5
              "good | Again | again.com\n" .. -- 6 duplicate
              "ok | Okbrand | ok.com\n"     -- 7
  local c, e = mekiki.catalogue(bad)
  check(c ~= nil, "catalogue with bad lines is built")
  eq(type(e), "table", "errors table")
  eq(#e, 3, "three errors")
  check(e[1]:match("^line 3:") ~= nil, "first error is line 3: " .. tostring(e[1]))
  check(e[2]:match("^line 5:") ~= nil, "second error is line 5: " .. tostring(e[2]))
  check(e[3]:match("^line 6:") ~= nil, "third error is line 6: " .. tostring(e[3]))
  eq(c:brand_count(), 2, "good lines loaded")
  eq(#c:scan("Goodbrand Okbrand"), 2, "good names found")
  eq(#c:scan("Again Bad"), 0, "bad lines' names not found")
  -- Empty map: an empty catalogue that finds nothing.
  local empty, ee = mekiki.catalogue("")
  check(empty ~= nil, "empty catalogue built")
  eq(#ee, 0, "no errors for the empty map")
  eq(empty:brand_count(), 0, "empty brand_count")
  eq(#empty:scan("Amazon " .. CYR_A .. "mazon"), 0, "empty catalogue finds nothing")
  check(tostring(empty):find("0 brands", 1, true) ~= nil, "tostring(empty): " .. tostring(empty))
end)

test("catalogue bounds: a map beyond them is refused, saying why", function()
  -- 2001 entries: one more than the library's bound (MEKIKI_MAX_BRANDS).
  local lines = {}
  for i = 1, 2001 do
    lines[i] = string.format("b%d | Kz%dq | b%d.example", i, i, i)
  end
  local c, why = mekiki.catalogue(table.concat(lines, "\n") .. "\n")
  eq(c, nil, "no catalogue")
  eq(why, "line 2001: more than 2000 entries: the map is refused", "the reason")
  -- The engine's own refusal of one name costs that name only.
  local ok, e = mekiki.catalogue("do | " .. string.rep("\227\131\137", 40) .. "\n" ..
                                 "ok | Okbrand | ok.com\n")
  check(ok ~= nil, "the rest of the map is built")
  eq(#e, 1, "one report")
  check(e[1]:find("^line 1: name '.*' is refused by the matcher") ~= nil, e[1])
  eq(#ok:scan("Okbrand"), 1, "the other name is found")
end)

test("tld_map", function()
  local m, errs = mekiki.tld_map("cn 1.0\nedu.cn 0\nshop 0.5\nbad line\n")
  check(m ~= nil, "built")
  eq(m:count(), 3, "three entries")
  eq(#errs, 1, "one bad line")
  eq(errs[1], 'line 4: expected "suffix weight" with a weight from 0 to 1, got "bad line"',
     "the bad line")
  local w, suffix = m:weight("kqwe.hjyzbd.CN.")
  eq(w, 1.0, "cn weight")
  eq(suffix, "cn", "cn suffix, lower case, without the trailing dot")
  w, suffix = m:weight("mail.hust.edu.cn")
  eq(w, 0, "the longest suffix")
  eq(suffix, "edu.cn", "edu.cn suffix")
  eq(m:weight("example.com"), nil, "not listed")
  eq(m:weight(""), nil, "empty host")
  eq(m:weight(string.rep("a", 300) .. ".cn"), nil, "over-long host")
  raises("weight(42)", m.weight, m, 42)
end)

local function one_hit(text, brand)
  local hits = cat:scan(text)
  eq(type(hits), "table", "scan returns a table")
  eq(#hits, 1, "one hit in " .. text)
  local h = hits[1]
  eq(h.brand, brand, "brand of " .. text)
  eq(string.sub(text, h.start, h.stop), h.text, "sub(text, start, stop) == hit.text")
  return h
end

test("scan confusable", function()
  local text = CYR_A .. "mazon"
  local h = one_hit(text, "amazon")
  eq(h.name, "Amazon", "name")
  eq(h.start, 1, "start (1-based)")
  eq(h.stop, 7, "stop (inclusive)")
  eq(h.text, text, "text")
  eq(h.confusable, true, "confusable")
  eq(type(h.foreign), "table", "foreign is a table")
  eq(#h.foreign, 1, "one foreign code point")
  eq(h.foreign[1], "U+0410", "foreign[1]")
  eq(h.nforeign, 1, "nforeign")

  h = one_hit("PayPaI", "paypal")
  eq(h.name, "PayPal", "PayPaI name")
  eq(h.confusable, true, "PayPaI confusable")
  eq(h.foreign[1], "U+0049", "PayPaI foreign")

  h = one_hit("G00gle", "google")
  eq(h.nforeign, 2, "G00gle nforeign")
  eq(#h.foreign, 1, "G00gle distinct foreign")
  eq(h.foreign[1], "U+0030", "G00gle foreign")

  -- 4-byte code points are formatted with all their digits.
  h = one_hit(u(0x1D41A) .. "mazon", "amazon")
  eq(h.foreign[1], "U+1D41A", "math bold a")
  eq(h.stop, 9, "math bold stop")

  h = one_hit(u(0x30E1, 0x30EB, 0x30AB, 0x2064, 0x30EA), "mercari")
  eq(h.name, u(0x30E1, 0x30EB, 0x30AB, 0x30EA), "mercari name")
  eq(h.foreign[1], "U+2064", "invisible plus")
  eq(h.start, 1, "mercari start")
  eq(h.stop, 15, "mercari stop")
end)

test("scan plain", function()
  local h = one_hit("Your Amazon order", "amazon")
  eq(h.name, "Amazon", "name")
  eq(h.start, 6, "start")
  eq(h.stop, 11, "stop")
  eq(h.text, "Amazon", "text")
  eq(h.confusable, false, "not confusable")
  eq(#h.foreign, 0, "no foreign")
  eq(h.nforeign, 0, "nforeign 0")
  h = one_hit("AMAZON", "amazon")
  eq(h.confusable, false, "AMAZON not confusable")
  -- Japanese context: offsets are byte offsets of the original text.
  local prefix = u(0x304A, 0x5BA2, 0x69D8) .. " " -- "お客様 ", 10 bytes
  local text = prefix .. CYR_A .. "mazon " .. u(0x3067, 0x3059)
  h = one_hit(text, "amazon")
  eq(h.start, 11, "start after Japanese")
  eq(h.stop, 17, "stop after Japanese")
  eq(h.text, CYR_A .. "mazon", "text after Japanese")
  local hits = cat:scan("amazon.co.jp")
  eq(#hits, 2, "amazon.co.jp matches two names")
  local names = {}
  for _, x in ipairs(hits) do
    names[x.name] = true
    eq(x.confusable, false, "amazon.co.jp plain")
    eq(string.sub("amazon.co.jp", x.start, x.stop), x.text, "amazon.co.jp sub")
  end
  check(names["Amazon"] and names["Amazon.co.jp"], "names Amazon and Amazon.co.jp")
end)

test("scan no hits", function()
  eq(#cat:scan("amazonas"), 0, "amazonas")
  eq(#cat:scan("Amazonian"), 0, "Amazonian")
  eq(#cat:scan(""), 0, "empty text")
  eq(#cat:scan("Hello, world"), 0, "plain English")
  eq(#cat:scan("\255\254\192\175\237\160\128\244\144\128\128"), 0, "invalid UTF-8")
  eq(#cat:scan("Ama\0zon"), 0, "NUL breaks the name")
  eq(#cat:scan("\0Amazon\0"), 1, "NUL around the name")
end)

test("scan max_bytes", function()
  local text = "Amazon and then PayPal" -- PayPal at 17..22
  eq(#cat:scan(text), 2, "both without a limit")
  local hits = cat:scan(text, 16)
  eq(#hits, 1, "only the first within 16 bytes")
  eq(hits[1].brand, "amazon", "first brand")
  eq(#cat:scan(text, 21), 1, "PayPal cut at 21 bytes is not found")
  eq(#cat:scan(text, 22), 2, "PayPal found with exactly 22 bytes")
  eq(#cat:scan(text, 1000), 2, "max_bytes beyond the text")
  eq(#cat:scan(text, 0), 0, "max_bytes 0")
  eq(#cat:scan(text, -1), 2, "negative max_bytes means no limit")
  eq(#cat:scan(text, nil), 2, "nil max_bytes means no limit")
  -- A cut in the middle of a multi-byte character.
  eq(#cat:scan(CYR_A .. "mazon", 1), 0, "cut inside U+0410")
end)

test("scan max_hits", function()
  local text = string.rep(CYR_A .. "mazon ", 100)
  eq(#cat:scan(text, nil, 3), 3, "max_hits 3")
  eq(#cat:scan(text, -1, 1), 1, "max_hits 1")
  eq(#cat:scan(text, nil, 0), 0, "max_hits 0")
  eq(#cat:scan(text, nil, 100), 100, "max_hits 100")
  local hits = cat:scan(text, nil, 10)
  for i, h in ipairs(hits) do
    eq(h.start, (i - 1) * 8 + 1, "hit " .. i .. " start")
    eq(h.stop, (i - 1) * 8 + 7, "hit " .. i .. " stop")
  end
  -- max_bytes and max_hits together.
  eq(#cat:scan(text, 8 * 5, 100), 5, "max_bytes limits before max_hits")
end)

test("scan confusable mode", function()
  local text = string.rep("Amazon ", 100) .. CYR_A .. "mazon"
  local all = cat:scan(text, nil, 10)
  eq(#all, 10, "every mode: 10 plain hits fill max_hits")
  eq(all[10].confusable, false, "every mode: the look-alike is pushed out")
  local hits = cat:scan(text, nil, 10, "confusable")
  eq(#hits, 1, "confusable mode: one hit")
  eq(hits[1].confusable, true, "confusable mode: the look-alike")
  eq(hits[1].start, 701, "confusable mode: its start")
  eq(hits[1].text, CYR_A .. "mazon", "confusable mode: its text")
  eq(#cat:scan(text, nil, 10, "all"), 10, "mode all")
  eq(#cat:scan("Amazon", nil, nil, "confusable"), 0, "plain only: nothing")
  local _, inv = cat:scan("Pay" .. u(0x200B) .. "Pal now", nil, nil, "confusable")
  check(inv ~= nil, "invisible reported in confusable mode")
  raises("unknown mode", cat.scan, cat, "Amazon", nil, nil, "plain")
  raises("mode not a string", cat.scan, cat, "Amazon", nil, nil, {})
end)

test("scan a table of texts", function()
  local subject, body = "Your " .. CYR_A .. "mazon order", "Pay" .. u(0x200B) .. "Pal and PayPaI"
  local hits, inv = cat:scan({ subject, body }, nil, nil, "confusable")
  local one = cat:scan(subject .. "\n" .. body .. "\n", nil, nil, "confusable")
  eq(#hits, #one, "as many hits as the texts joined by newlines")
  for i, h in ipairs(hits) do
    eq(h.brand, one[i].brand, "hit " .. i .. " brand")
    eq(h.start, one[i].start, "hit " .. i .. " start (in the joined text)")
    eq(h.text, one[i].text, "hit " .. i .. " text")
  end
  eq(hits[1].brand, "amazon", "the subject's look-alike")
  check(inv ~= nil and inv.cp == "U+200B", "the body's invisible")
  -- Nothing is found across two texts.
  eq(#cat:scan({ "Ama", "zon" }), 0, "a name split over two texts")
  eq(#cat:scan({ "Amazon", "PayPal" }), 2, "one name in each")
  -- max_bytes cuts each text, not the whole.
  local cut = cat:scan({ "Amazon and then PayPal", "PayPal first" }, 16)
  eq(#cut, 2, "max_bytes per text")
  eq(cut[1].brand, "amazon", "first text cut after Amazon")
  eq(cut[2].brand, "paypal", "second text's PayPal within its 16 bytes")
  -- rspamd{text}-like values are not available here; strings and an empty table.
  eq(#cat:scan({}), 0, "empty table")
  eq(#cat:scan({ "", "" }), 0, "empty texts")
  eq(#cat:ids({ "Amazon", "PayPal", "Amazon" }), 2, "ids over a table")
  local many = {}
  for i = 1, 257 do many[i] = "x" end
  raises("257 texts", cat.scan, cat, many)
  many[257] = nil
  eq(#cat:scan(many), 0, "256 texts")
  raises("a table with a number", cat.scan, cat, { "Amazon", 42 })
  raises("a table with a table", cat.ids, cat, { {} })
  -- The joined buffer shrinks for a smaller message and is reused.
  local big = string.rep("a", 100000) .. " " .. CYR_A .. "mazon"
  eq(#cat:scan({ big }, nil, nil, "confusable"), 1, "a big message")
  eq(#cat:scan({ "Amazon" }), 1, "then a small one")
end)

test("ids", function()
  local ids = cat:ids("Amazon, PayPal, " .. CYR_A .. "mazon and PayPal again")
  eq(#ids, 2, "two distinct brands")
  eq(ids[1], "amazon", "first seen first")
  eq(ids[2], "paypal", "then paypal")
  eq(#cat:ids(""), 0, "empty text")
  eq(#cat:ids("Hello, world"), 0, "no brand")
  eq(#cat:ids("Amazon and then PayPal", 16), 1, "max_bytes")
  eq(#cat:ids(string.rep("Amazon ", 50) .. "PayPal", nil, 50), 1, "max_hits bounds the scan")
  raises("ids(nil)", cat.ids, cat, nil)
  raises("ids on nil self", cat.ids, nil, "Amazon")
end)

test("owns", function()
  eq(cat:owns("amazon", "www.amazon.co.jp"), true, "subdomain")
  eq(cat:owns("amazon", "amazon.co.jp"), true, "exact")
  eq(cat:owns("amazon", "AMAZON.CO.JP."), true, "uppercase, trailing dot")
  eq(cat:owns("amazon", "evil.cn"), false, "other domain")
  eq(cat:owns("amazon", "evilamazon.co.jp"), false, "not a subdomain")
  eq(cat:owns("amazon", "amazon.co.jp.evil.cn"), false, "suffix attack")
  eq(cat:owns("paypal", "amazon.co.jp"), false, "another brand's domain")
  eq(cat:owns("no-such-brand", "amazon.co.jp"), false, "unknown brand")
  eq(cat:owns("amazon", ""), false, "empty domain")
end)

test("owns_sender and the family verdict", function()
  local c = mekiki.catalogue("ms | Microsoft | microsoft.com, ~outlook.com\n" ..
                             "yj | Yahoo! JAPAN | yahoo.co.jp\n")
  eq(c:owns_sender("ms", "postmaster@outlook.com"), true, "a role mailbox of a '~' domain")
  eq(c:owns_sender("ms", "Mailer-Daemon@outlook.com"), true, "case of the role")
  eq(c:owns_sender("ms", "support-team@outlook.com"), false, "anyone's mailbox of a '~' domain")
  eq(c:owns_sender("ms", "no-reply@microsoft.com"), true, "an own domain")
  eq(c:owns_sender("ms", "no-reply@example.com"), false, "a foreign domain")
  eq(c:owns_sender("nope", "postmaster@outlook.com"), false, "unknown brand")
  eq(c:owns_sender("ms", ""), false, "empty address")
  eq(c:owns("ms", "nam12.protection.outlook.com"), true, "a '~' domain is the brand's for hosts")
  local v = c:host("us.click.yahoo.com")
  eq(v.family, true, "yahoo.com is the family of yahoo.co.jp")
  eq(v.lookalike, false, "the family is no look-alike")
  eq(v.brand, "yj", "the family's brand")
  eq(c:host("yahoo-verify.example.com").lookalike, true, "the brand as one word of a foreign host")
  raises("owns_sender(brand, nil)", c.owns_sender, c, "ms", nil)
  raises("owns_sender(nil, addr)", c.owns_sender, c, nil, "a@b.c")
end)

test("subject_claims: the leading bracketed tag naming a brand", function()
  local c = mekiki.catalogue("amazon | Amazon | amazon.co.jp\njcb | =JCB | jcb.co.jp\n")
  local h = c:subject_claims("[List] \227\128\144Amazon\227\128\145 please log in")
  eq(#h, 1, "one claim")
  eq(h[1].brand, "amazon", "the brand")
  eq(h[1].text, "Amazon", "the name's bytes")
  eq(h[1].confusable, false, "written plainly")
  eq(#c:subject_claims("[JCB] notice"), 1, "an ordinary-word name alone in the tag")
  eq(#c:subject_claims("[Amazon gift card] survey"), 0, "more than the brand in the tag")
  eq(#c:subject_claims("Re: [Amazon] order"), 0, "a reply")
  eq(#c:subject_claims("Amazon order"), 0, "no tag")
  eq(#c:subject_claims("[Amazon] order", 3), 0, "cut at max_bytes")
  raises("subject_claims(nil)", c.subject_claims, c, nil)
end)

test("redirect_target", function()
  -- Bing's click tracker: u = "a1" .. base64url("https://phish.example.net/login/")
  eq(mekiki.redirect_target("https://www.bing.com/ck/a?!&&p=0f1e&ptn=3&hsh=3" ..
       "&u=a1aHR0cHM6Ly9waGlzaC5leGFtcGxlLm5ldC9sb2dpbi8&ntb=1"),
     "https://phish.example.net/login/", "bing u=a1<base64url>")
  eq(mekiki.redirect_target("https://www.google.com/url?sa=t&q=https://evil.example/x"),
     "https://evil.example/x", "google url?q=")
  eq(mekiki.redirect_target("https://r.example/?url=https%3A%2F%2Fevil.example%2F"),
     "https://evil.example/", "percent-encoded")
  eq(mekiki.redirect_target("https://r.example/?url=https%253A%252F%252Fevil.example%252F"),
     "https://evil.example/", "percent-encoded twice")
  eq(mekiki.redirect_target("https://www.microsoft.com/en-us/?a=b"), nil, "no target")
  eq(mekiki.redirect_target(""), nil, "empty")
  eq(mekiki.redirect_target("https://r.example/?u=%"), nil, "'%' at the end")
  eq(#mekiki.redirect_target("https://r.example/?u=https://e.example/" .. string.rep("x", 3000)),
     3000 + #"https://e.example/", "a target longer than the binding's stack buffer")
  raises("redirect_target(nil)", mekiki.redirect_target, nil)
  raises("redirect_target({})", mekiki.redirect_target, {})
end)

test("argument errors", function()
  raises("scan(nil)", cat.scan, cat, nil)
  raises("scan({{}})", cat.scan, cat, { {} })
  raises("scan()", cat.scan, cat)
  raises("scan(true)", cat.scan, cat, true)
  raises("scan with bad max_bytes", cat.scan, cat, "Amazon", "many")
  raises("scan with bad max_hits", cat.scan, cat, "Amazon", nil, {})
  raises("scan on nil self", cat.scan, nil, "Amazon")
  raises("scan on a table self", cat.scan, {}, "Amazon")
  raises("scan on a string self", cat.scan, "Amazon", "Amazon")
  raises("owns(nil, domain)", cat.owns, cat, nil, "amazon.com")
  raises("owns(brand, nil)", cat.owns, cat, "amazon", nil)
  raises("owns(brand, {})", cat.owns, cat, "amazon", {})
  raises("brand_count on nil", cat.brand_count, nil)
  raises("catalogue(42)", mekiki.catalogue, 42)
  raises("catalogue(nil)", mekiki.catalogue, nil)
  raises("catalogue()", mekiki.catalogue)
  raises("catalogue({})", mekiki.catalogue, {})
  raises("skeleton(nil)", mekiki.skeleton, nil)
  raises("skeleton({})", mekiki.skeleton, {})
  raises("skeleton(io.stdout)", mekiki.skeleton, io.stdout)
  -- A foreign userdata is not taken for a catalogue.
  raises("scan on io.stdout", cat.scan, io.stdout, "Amazon")
  -- Still usable after all that.
  eq(#cat:scan(CYR_A .. "mazon"), 1, "catalogue still works")
end)

test("large input", function()
  local filler = string.rep("lorem ipsum dolor sit amet ", 200000) -- 5.4 MB
  local text = filler .. CYR_A .. "mazon"
  check(#text > 5 * 1000 * 1000, "input larger than 5 MB")
  local hits = cat:scan(text)
  eq(#hits, 1, "brand at the end of 5 MB")
  eq(hits[1].start, #filler + 1, "start at the end")
  eq(hits[1].stop, #text, "stop at the end")
  eq(hits[1].text, CYR_A .. "mazon", "text at the end")
  -- Then a short text again with the grown scanner.
  eq(#cat:scan("PayPaI"), 1, "short scan after a large one")
  -- max_bytes keeps the brand at the end out.
  eq(#cat:scan(text, #filler), 0, "max_bytes excludes the brand at the end")
end)

test("garbage collection", function()
  for _ = 1, 20 do
    local c = mekiki.catalogue("x | Xbrand | x.com\n")
    eq(#c:scan("Xbrand"), 1, "short-lived catalogue")
  end
  collectgarbage("collect")
  collectgarbage("collect")
  eq(#cat:scan("Amazon"), 1, "main catalogue survives collection")
end)

test("invisible code points inside words", function()
  -- アカウ U+FE09 ント: the second result names the first invisible one.
  local text = u(0x30A2, 0x30AB, 0x30A6, 0xFE09, 0x30F3, 0x30C8)
  local hits, inv = cat:scan(text)
  eq(#hits, 0, "no brand")
  check(inv ~= nil, "invisible reported")
  eq(inv.count, 1, "one invisible")
  eq(inv.offset, 10, "1-based offset after three kana")
  eq(inv.cp, "U+FE09", "its code point")
  local _, none = cat:scan("plain words, nothing hidden")
  eq(none, nil, "nil when there is none")
end)

-- The policy: the binding hands a view table to mekiki_decide() and the
-- verdict back; the engine's decisions are tested by the golden table.
test("policy decides from a view table", function()
  local tld = mekiki.tld_map("cn 1.0\nshop 0.8\n")
  local p = mekiki.policy(cat, nil, tld, { max_options = 2 })
  local verdict, hosts = p:decide({
    subject = "Your order",
    parts = { "Dear customer, your " .. CYR_A .. "mazon account", { "text", nil } },
    from = { { "Amazon.co.jp", "info@notice-example.com" } },
    from_header = "Amazon.co.jp <info@notice-example.com>",
    links = { { "https://a.example.cn/x", "a.example.cn" },
              { "https://b.example.shop/", "B.Example.Shop.", "click" },
              { "https://c.example.cn/", "c.example.cn" } },
  })
  local by = {}
  for _, r in ipairs(verdict) do
    by[r[1]] = r
  end
  eq(by.MEKIKI_BRAND_CONFUSABLE[3][1], "amazon:U+0410", "look-alike in a part")
  eq(by.MEKIKI_FROM_BRAND_SPOOF[3][1], "amazon:notice-example.com", "display name spoof")
  eq(by.MEKIKI_URL_TLD[2], 1.0, "factor: the highest TLD weight")
  eq(#by.MEKIKI_URL_TLD[3], 2, "max_options from the bounds")
  eq(by.MEKIKI_URL_TLD[3][2], "b.example.shop", "hosts lower case, trailing dot removed")
  eq(#hosts, 3, "three link hosts")
  eq(hosts[2].host, "b.example.shop", "host")
  eq(hosts[2].registrable, "example.shop", "registrable")
  eq(hosts[2].tld, 0.8, "its TLD weight")
  eq(hosts[2].link, 2, "first link going there (1-based)")
  eq(hosts[1].own, false, "not a brand's own host")
  local only = p:link_hosts({ links = { { "https://www.amazon.co.jp/", "www.amazon.co.jp" } } })
  eq(#only, 1, "link_hosts alone")
  eq(only[1].own, true, "the brand's own host")
end)

test("policy with a hosting map (7th argument)", function()
  local p = mekiki.policy(nil, nil, nil, nil, nil, nil, (mekiki.tld_map("pages.dev 0.8\n")))
  collectgarbage("collect")
  local v = p:decide({ links = { { "https://x.pages.dev/", "x.pages.dev" } } })
  eq(v[1] and v[1][1], "MEKIKI_URL_FREE_HOSTING", "hosting map kept and used")
  eq(v[1][2], 0.8, "factor: the suffix's weight")
  eq(v[1][3][1], "x.pages.dev", "the host")
  raises("not a tld map", function() mekiki.policy(nil, nil, nil, nil, nil, nil, {}) end)
end)

test("policy with label baselines (8th argument)", function()
  local labels, errs = mekiki.label_map("pl 8.10\nde 0.5\n")
  eq(labels:count(), 1, "one valid line")
  eq(#errs, 1, "bits below 1 refused")
  eq(labels:weight("krzysztof.pl"), 8.1, "the bits of the suffix")
  -- registrable domains come with the brand catalogue's host check
  local v = mekiki.policy(cat):decide({ links = { { "https://www.krzysztof.pl/",
                                                    "www.krzysztof.pl" } } })
  eq(v[1] and v[1][1], "MEKIKI_URL_RANDOM_LABEL", "krzysztof (7.95 bits) is random by default")
  eq(v[1][3][1], "krzysztof.pl", "the registrable domain")
  local p = mekiki.policy(cat, nil, nil, nil, nil, nil, nil, labels)
  labels = nil
  collectgarbage("collect")
  v = p:decide({ links = { { "https://www.krzysztof.pl/", "www.krzysztof.pl" } } })
  eq(#v, 0, "label map kept and used: a word under .pl's 8.10")
  raises("not a label map", function() mekiki.policy(nil, nil, nil, nil, nil, nil, nil, {}) end)
end)

test("policy: bad bounds and views are errors", function()
  raises("max_options 0", function() mekiki.policy(nil, nil, nil, { max_options = 0 }) end)
  raises("max_options too big", function() mekiki.policy(nil, nil, nil, { max_options = 100000 }) end)
  raises("unknown bound", function() mekiki.policy(nil, nil, nil, { nosuch = 1 }) end)
  local p = mekiki.policy(nil, nil, nil)
  raises("view must be a table", function() p:decide("not a table") end)
  raises("a link must be a table", function() p:decide({ links = { "not a table" } }) end)
  local v = p:decide({ subject = "x", parts = { "y" } })
  eq(#v, 0, "no maps: no verdict")
end)

test("policy keeps its maps alive", function()
  local p = mekiki.policy(mekiki.catalogue(map), nil, nil)
  collectgarbage("collect")
  collectgarbage("collect")
  local v = p:decide({ parts = { CYR_A .. "mazon" } })
  eq(v[1] and v[1][1], "MEKIKI_BRAND_CONFUSABLE", "catalogue still there after collection")
end)

-- The rspamd plugin's per-worker cache of DNS answers: bounded in entries,
-- in key and value size, and expiring.
test("lru: answers kept until they expire", function()
  local c = mekiki.lru(3, 600)
  eq(c:get("a.example", 0), nil, "empty at first")
  eq(c:put("a.example", { "192.0.2.1", "192.0.2.2" }, 100), true, "stored")
  local got = c:get("a.example", 200)
  eq(got and #got, 2, "two addresses")
  eq(got[1] .. " " .. got[2], "192.0.2.1 192.0.2.2", "in their order")
  eq(#(c:get("a.example", 700) or {}), 2, "at its expiry still there")
  eq(c:get("a.example", 700.5), nil, "after it, gone")
  eq(c:count(), 0, "the expired entry freed")
  -- an empty list: a name known not to exist, kept for its own ttl only
  c:put("nx.example", {}, 0, 60)
  eq(#c:get("nx.example", 59), 0, "negative answer cached")
  eq(c:get("nx.example", 61), nil, "for 60 s")
  -- a ttl above the cache's is cut to it
  c:put("long.example", { "192.0.2.9" }, 0, 100000)
  eq(c:get("long.example", 601), nil, "the cache's ttl bounds an entry's")
end)

test("lru: the least recently used entry goes when full", function()
  local c = mekiki.lru(3, 600)
  for _, h in ipairs({ "a", "b", "c" }) do c:put(h, { "192.0.2.1" }, 0) end
  c:get("a", 1) -- a is now the most recent; b the least
  c:put("d", { "192.0.2.4" }, 1)
  eq(c:count(), 3, "never more than its size")
  eq(c:get("b", 1), nil, "b evicted")
  check(c:get("a", 1) and c:get("c", 1) and c:get("d", 1), "a, c, d kept")
  c:put("c", { "192.0.2.3", "192.0.2.33" }, 1) -- replaced, not added
  eq(c:count(), 3, "a put over a key replaces it")
  eq(#c:get("c", 1), 2, "with the new answer")
  -- many keys through a small cache: the count stays at the size
  for i = 1, 10000 do c:put("h" .. i .. ".example", { "192.0.2." .. i % 256 }, 2) end
  eq(c:count(), 3, "10000 puts, 3 entries")
  eq(#c:get("h10000.example", 2), 1, "the last one there")
end)

test("lru: what does not fit is not stored", function()
  local c = mekiki.lru(10, 600)
  eq(c:put(string.rep("a", 254), { "192.0.2.1" }, 0), false, "a key longer than a host name")
  eq(c:put("", { "192.0.2.1" }, 0), false, "an empty key")
  local many = {}
  for i = 1, 65 do many[i] = "192.0.2." .. i end
  eq(c:put("many.example", many, 0), false, "more than 64 addresses")
  eq(c:put("long.example", { string.rep("1", 65) }, 0), false, "an address over 64 bytes")
  eq(c:put("nonstr.example", { 1 }, 0), false, "an address not a string")
  eq(c:count(), 0, "nothing stored")
  many[65] = nil
  eq(c:put("many.example", many, 0), true, "64 addresses fit")
  eq(#c:get("many.example", 0), 64, "all of them back")
  raises("size 0", function() mekiki.lru(0, 600) end)
  raises("size too big", function() mekiki.lru(1e9, 600) end)
  raises("negative ttl", function() mekiki.lru(10, -1) end)
  raises("a value not a table", function() c:put("x", "192.0.2.1", 0) end)
end)

test("lru: hostile keys and answers", function()
  local c = mekiki.lru(50, 600)
  local seed = 12345
  local function rnd(n) -- a fixed sequence (the LCG's high bits): the same run every time
    seed = (seed * 1103515245 + 12345) % 2147483648
    return math.floor(seed / 65536) % n
  end
  local function bytes(n)
    local t = {}
    for i = 1, n do t[i] = string.char(rnd(256)) end
    return table.concat(t)
  end
  local stored, refused = 0, 0
  for _ = 1, 3000 do
    -- half the time bytes of any kind and length, else a plausible answer
    local key = rnd(2) == 0 and bytes(rnd(300)) or ("h" .. rnd(200) .. ".example")
    local answer = {}
    for j = 1, (rnd(4) == 0 and rnd(80) or rnd(4)) do
      answer[j] = rnd(8) == 0 and bytes(rnd(80)) or ("192.0.2." .. rnd(256))
    end
    local now = rnd(2000)
    local ok, put = pcall(c.put, c, key, answer, now, rnd(1000))
    check(ok, "put never raises on strings")
    if put then
      stored = stored + 1
      local got = c:get(key, now)
      eq(got and table.concat(got, "\n"), table.concat(answer, "\n"), "stored, it comes back whole")
    else
      refused = refused + 1
      eq(c:get(key, now) == nil or key:find("^h%d+%.example$") ~= nil, true,
         "a refused key is absent (or an older answer of a plausible name)")
    end
    check(c:count() <= 50, "never more entries than its size")
  end
  check(stored > 500 and refused > 500, "both kinds seen: " .. stored .. " stored, " .. refused .. " refused")
end)

T.done()
