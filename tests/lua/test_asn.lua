-- test_asn.lua -- the Lua binding's ASN lookups and weight map.
--
--     LUA_CPATH=build/lua51/?.so luajit tests/lua/test_asn.lua FIXTURE.mmdb
--
-- FIXTURE.mmdb is built by ctest from tests/asn/asn-fixture.csv.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "testlib.lua")
local mekiki = require("mekiki")
local fixture = assert(arg[1], "usage: test_asn.lua FIXTURE.mmdb")

T.test("open", function()
  local db, err = mekiki.asn_open("/nonexistent/x.mmdb")
  T.eq(db, nil, "missing file")
  T.check(err:find("/nonexistent/x.mmdb", 1, true), "the error names the file: " .. err)
  T.raises("no path", mekiki.asn_open)
  T.raises("path not a string", mekiki.asn_open, {})
  db = assert(mekiki.asn_open(fixture))
  T.eq(db:ip_version(), 6, "ip version")
  T.check(db:build_epoch() > 1700000000, "build epoch")
end)

T.test("lookup", function()
  local db = assert(mekiki.asn_open(fixture))
  local asn, org = db:lookup("104.248.62.17")
  T.eq(asn, 14061, "DigitalOcean IPv4")
  T.eq(org, "DigitalOcean, LLC", "organisation")
  asn = db:lookup("2a03:b0c0:2:d0::1f:1")
  T.eq(asn, 14061, "DigitalOcean IPv6")
  T.eq(db:lookup("10.0.0.1"), false, "private address: not in the database")
  T.eq(db:lookup("8.8.8.8"), false, "not in the fixture")
  local none, err = db:lookup("example.com")
  T.eq(none, nil, "a name is not an address")
  T.check(err:find("not a numeric IP address", 1, true), err)
  T.eq((db:lookup("1.1.1.1\0")), nil, "NUL inside")
  T.eq((db:lookup(string.rep("1", 5000))), nil, "over-long")
  T.raises("number instead of text", db.lookup, db, 1)
  T.raises("not a database", db.lookup, {}, "1.1.1.1")
  T.raises("no address", db.lookup, db)
end)

T.test("map", function()
  local map, errs = mekiki.asn_map("AS14061 link=0.8 sender=0.5\nbad line\nAS13335 shared=0\n")
  T.eq(#errs, 1, "one bad line")
  T.check(errs[1]:find("^line 2:"), errs[1])
  T.eq(map:count(), 2, "networks")
  T.check(math.abs(map:weight(14061, "link") - 0.8) < 1e-6, "link weight")
  T.check(math.abs(map:weight(14061, "sender") - 0.5) < 1e-6, "sender weight")
  T.eq(map:weight(14061, "shared", 1), 1, "shared: default when absent")
  T.eq(map:weight(13335, "shared", 1), 0, "shared=0")
  T.eq(map:weight(99, "link"), 0, "absent network")
  T.eq(map:weight(-1, "link"), 0, "negative AS")
  T.eq(map:weight(1.5, "link"), 0, "fractional AS")
  T.eq(map:weight(2 ^ 40, "link"), 0, "AS beyond 32 bits")
  T.raises("unknown context", map.weight, map, 14061, "colour")
  T.raises("AS not a number", map.weight, map, "x", "link")
  local empty, e2 = mekiki.asn_map("")
  T.eq(empty:count(), 0, "empty map")
  T.eq(#e2, 0, "no errors")
  T.raises("map of a table", mekiki.asn_map, {})
end)

T.test("gc", function()
  for _ = 1, 200 do
    local db = mekiki.asn_open(fixture)
    db:lookup("104.248.62.17")
    mekiki.asn_map("AS1 link=1\n")
  end
  collectgarbage()
  collectgarbage()
  T.check(true)
end)


-- The engine's network phase through the binding: addresses in, the
-- network symbols out (the decisions themselves: tests/golden).
T.test("policy:networks", function()
  local db = assert(mekiki.asn_open(fixture))
  local map = assert(mekiki.asn_map("AS14061 link=0.6 sender=0.2\nAS4837 sender=0.5\nAS13335 shared=0\n"))
  local p = mekiki.policy(nil, nil, nil, { max_options = 8 }, db, map)
  local v = p:networks({ sender = "112.224.75.38", addresses = {
    { "a.example.cn", "example.cn", "165.22.48.17" },
    { "b.other.shop", "other.shop", "165.22.48.17" },
    { "c.cdn.net", "cdn.net", "1.1.1.1" },
    { "d.cdnuser.org", "cdnuser.org", "1.1.1.1" },
  } })
  local by = {}
  for _, r in ipairs(v) do
    by[r[1]] = r
  end
  T.check(math.abs(by.MEKIKI_SENDER_ASN[2] - 0.5) < 1e-6, "sender weight")
  T.eq(by.MEKIKI_SENDER_ASN[3][1], "112.224.75.38:AS4837:CHINA UNICOM China169 Backbone", "sender option")
  T.check(math.abs(by.MEKIKI_URL_ASN[2] - 0.6) < 1e-6, "link weight")
  T.eq(#by.MEKIKI_URL_ASN[3], 2, "one option per host and address")
  T.eq(by.MEKIKI_URL_SHARED_IP[3][1], "165.22.48.17:example.cn,other.shop:AS14061", "shared address")
  T.eq(#by.MEKIKI_URL_SHARED_IP[3], 1, "a CDN's shared=0 address does not count")
  local none = mekiki.policy(nil, nil, nil, nil, db, nil)
  T.eq(#none:networks({ sender = "112.224.75.38" }), 0, "no ASN map: no network symbol")
  T.raises("an address entry must be a table", function() p:networks({ addresses = { "x" } }) end)
end)

-- The campaign memory's features and verdict through the binding: what a
-- store is asked for, what is remembered, what remembered counts give.
T.test("policy:campaign", function()
  local db = assert(mekiki.asn_open(fixture))
  local map = assert(mekiki.asn_map("AS14061 link=0.6\nAS13335 shared=0\nAS4837 sender=0.5\n"))
  local brands = assert(mekiki.catalogue("amazon | Amazon | amazon.co.jp\n"))
  local tld = assert(mekiki.tld_map("cn 1.0\nshop 1.0\n"))
  local p = mekiki.policy(brands, nil, tld, { max_options = 8 }, db, map)
  local input = { sender = "112.224.75.38", addresses = {
    { "abnpevb.cn", "abnpevb.cn", "165.22.48.17" },      -- random .cn on DigitalOcean
    { "www.example.com", "example.com", "104.248.62.17" }, -- an ordinary host
    { "img.pzlmtr.cn", "pzlmtr.cn", "1.1.1.1" },          -- a CDN's address (shared=0)
    { "x.abnpevb.cn", "abnpevb.cn", "10.0.0.1" },         -- not a public address
    { "203.0.113.9", "203.0.113.9", "203.0.113.9" },      -- an address as the host
    { "qwxzkv.shop", "qwxzkv.shop", "2a03:b0c0:2:d0::1f:1" },
    { "www.amazon.co.jp", "amazon.co.jp", "54.240.1.1" }, -- the brand's own
  } }
  local v, extra = p:networks(input)
  T.check(#v > 0, "the network verdict")
  T.eq(extra, nil, "networks() gives the verdict alone")
  local features = p:features(input)
  local want = {
    { "f:112.224.75.0/24", true },
    { "a:165.22.48.17", true }, { "d:abnpevb.cn", true },
    { "n:cn~r1@165.22.48.0/24", true }, { "s:cn~r1@AS14061", true },
    { "a:104.248.62.17", false },
    { "a:203.0.113.9", true }, { "n:ip@203.0.113.0/24", true },
    { "a:2a03:b0c0:2:d0::1f:1", true }, { "d:qwxzkv.shop", true },
    { "n:shop~r1@2a03:b0c0:2::/48", true }, { "s:shop~r1@AS14061", true },
  }
  T.eq(#features, #want, "feature count")
  for i, f in ipairs(want) do
    T.eq(features[i][1], f[1], "feature " .. i)
    T.eq(features[i][2], f[2], "learn " .. f[1])
  end
  -- the features do not depend on the network verdict being decided first
  p:networks({ sender = "104.248.62.1" })
  local again = p:features(input)
  T.eq(#again, #want, "features() after another message's networks()")
  for i, f in ipairs(want) do
    T.eq(again[i][1], f[1], "features() " .. i)
  end
  -- nothing remembered: no campaign symbol
  T.eq(#p:campaign(input, {}), 0, "nothing remembered")
  -- counts as a store returns them; poisoned values count as nothing
  local counts = { "0", "3", "garbage", " 1", "99999999", 1, "2.5", nil, nil, nil, "1" }
  local c = p:campaign(input, counts)
  T.eq(#c, 2, "two campaign symbols")
  T.eq(c[1][1], "MEKIKI_CAMPAIGN_ADDRESS", "address first")
  T.eq(c[1][3][1], "abnpevb.cn:165.22.48.17:3", "address option with its count")
  T.eq(c[1][3][2], "www.example.com:104.248.62.17:1", "any link host's address is looked up")
  T.eq(#c[1][3], 2, "address options")
  T.eq(c[2][1], "MEKIKI_CAMPAIGN_NETWORK", "network")
  T.eq(c[2][3][1], "qwxzkv.shop:2a03:b0c0:2::/48:shop~r1:1", "IPv6 network option")
  local all = {}
  for i = 1, #want do
    all[i] = "1"
  end
  local seen = {}
  for _, r in ipairs(p:campaign(input, all)) do
    seen[#seen + 1] = r[1]
  end
  T.eq(table.concat(seen, " "), "MEKIKI_CAMPAIGN_ADDRESS MEKIKI_CAMPAIGN_DOMAIN " ..
      "MEKIKI_CAMPAIGN_NETWORK MEKIKI_CAMPAIGN_SHAPE MEKIKI_CAMPAIGN_SENDER", "every symbol")
  -- bounded: at most 32 features however many hosts
  local many = { addresses = {} }
  for i = 1, 100 do
    many.addresses[i] = { string.format("h%d.qkzvwx.cn", i), "qkzvwx.cn",
                          string.format("165.22.%d.%d", i, i) }
  end
  local f2 = p:features(many)
  T.eq(#f2, 32, "at most 32 features")
  -- hostile hosts: no key gets a byte outside the keyable ones
  local f3 = p:features({ addresses = { { "a b\n.cn", "a b\n.cn", "165.22.1.1" },
    { string.rep("x", 300) .. ".cn", "x.cn", "165.22.1.2" } } })
  for _, f in ipairs(f3) do
    T.check(not f[1]:find("[%s%c]"), "no space or control byte in " .. f[1])
    T.check(#f[1] <= 300, "key length")
  end
  -- a sender in a network without a sender weight (a list server's) is no feature
  local f4 = p:features({ sender = "104.248.62.1" })
  T.eq(#f4, 0, "an unweighted sending network is not remembered")
  -- the first phase's lure ids, paired with the risky hosts' shapes
  local f5 = p:features({ lures = { "payment-declined" }, addresses = {
    { "abnpevb.cn", "abnpevb.cn", "165.22.48.17" },
    { "www.example.com", "example.com", "104.248.62.17" } } })
  T.eq(f5[#f5][1], "l:payment-declined@cn~r1", "a lure with a risky host's shape, last")
  T.eq(f5[#f5][2], true, "learnt")
  local counts5 = {}
  counts5[#f5] = "2"
  local c5 = p:campaign({ lures = { "payment-declined" }, addresses = {
    { "abnpevb.cn", "abnpevb.cn", "165.22.48.17" },
    { "www.example.com", "example.com", "104.248.62.17" } } }, counts5)
  T.eq(c5[1] and c5[1][1], "MEKIKI_CAMPAIGN_LURE", "the lure symbol")
  T.eq(c5[1][3][1], "payment-declined:cn~r1:2", "its option")
  T.raises("a lure id must be text", function() p:features({ lures = { {} } }) end)
  T.raises("counts must be a table", function() p:campaign(input, "1") end)
end)

T.done()
