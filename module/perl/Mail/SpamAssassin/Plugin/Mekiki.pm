# Mail::SpamAssassin::Plugin::Mekiki -- mekiki's brand-impersonation
# detection for SpamAssassin, driven by libmekiki through FFI::Platypus.
#
# The same detection and the same names as the rspamd plugin (lua/mekiki.lua):
# this file is thin glue that hands SpamAssassin's decoded data (From display
# name and address, subject, rendered text parts, get_uri_detail_list hosts
# and anchor texts) to the native library and reports eval rules.
#
# Copyright the mekiki authors.  Same licence as the rest of mekiki.

package Mail::SpamAssassin::Plugin::Mekiki;

use strict;
use warnings;
use re 'taint';

use Mail::SpamAssassin::Plugin;
use Mail::SpamAssassin::Logger;
use Mail::SpamAssassin::Util qw(untaint_var);

our @ISA = qw(Mail::SpamAssassin::Plugin);
our $VERSION = '0.1.0';

# Layouts of the C structures of mekiki.h (x86_64 / LP64); the build checks
# them against the compiler (tests/sa/layout_check.c).
use constant HIT_SIZE => 72;       # sizeof(mekiki_hit)
use constant HIT_PACK => 'L L Q Q L L L L8';
use constant VERDICT_SIZE => 524;  # sizeof(mekiki_host_verdict)
use constant VERDICT_PACK => 'L L L Z256 Z256';
use constant INVISIBLE_SIZE => 24; # sizeof(mekiki_invisible)
use constant INVISIBLE_PACK => 'Q Q L';
use constant ASN_INFO_SIZE => 132; # sizeof(mekiki_asn_info)
use constant ASN_INFO_PACK => 'L Z128';
use constant ASN_SENDER => 0;      # enum mekiki_asn_context
use constant ASN_LINK => 1;
use constant MEKIKI_ABI => 2;      # MEKIKI_ABI_VERSION this plugin was written for
use constant MEKIKI_ELIMIT => -4; # enum mekiki_status
use constant SCAN_CONFUSABLE_ONLY => 1; # MEKIKI_SCAN_CONFUSABLE_ONLY
use constant ASN_SHARED => 2;
use constant MAX_LOGGED_ERRORS => 10; # bad map lines listed per load

use constant HIT_CONFUSABLE => 0x1;
use constant HIT_WEAK => 0x2;
use constant HOST_BRAND_DOMAIN => 0x01;
use constant HOST_LOOKALIKE => 0x02;
use constant HOST_MIXED_SCRIPT => 0x10;
use constant NO_BRAND => 0xFFFFFFFF;
use constant LIMIT_MAX_HITS => 1024;
use constant MAX_REDIRECT_HOPS => 3;

# Every rule this plugin reports, and the rules whose DMARC verdict makes a
# display name claiming the From domain's own brand a spoof (as rspamd's
# DMARC_POLICY_REJECT / _QUARANTINE / _SOFTFAIL).
our @RULES = qw(MEKIKI_BRAND_CONFUSABLE MEKIKI_FROM_CONFUSABLE MEKIKI_BRAND_CONFUSABLE_WEAK
                MEKIKI_INVISIBLE_IN_WORD MEKIKI_URL_LOOKALIKE MEKIKI_BRAND_URL_MISMATCH
                MEKIKI_LURE MEKIKI_URL_TLD MEKIKI_FROM_TLD MEKIKI_FROM_BRAND_SPOOF
                MEKIKI_BRAND_REPLYTO_MISMATCH MEKIKI_SUBJECT_BRAND
                MEKIKI_SENDER_ASN MEKIKI_URL_ASN MEKIKI_URL_SHARED_IP);
our @DMARC_FAIL_RULES = qw(DMARC_REJECT DMARC_QUAR DMARC_NONE);

# The library, loaded once per process; a catalogue per configuration.
my $FFI;

sub new {
  my ($class, $mailsa) = @_;
  $class = ref($class) || $class;
  my $self = $class->SUPER::new($mailsa);
  bless($self, $class);
  $self->set_config($mailsa->{conf});
  $self->register_eval_rule('check_mekiki', $Mail::SpamAssassin::Conf::TYPE_HEAD_EVALS);
  $self->register_eval_rule('check_mekiki_sender_asn', $Mail::SpamAssassin::Conf::TYPE_HEAD_EVALS);
  $self->register_eval_rule('check_mekiki_link_asn', $Mail::SpamAssassin::Conf::TYPE_HEAD_EVALS);
  return $self;
}

sub set_config {
  my ($self, $conf) = @_;
  my @cmds;
  # Paths: admin only (a user's preferences must not load a library).
  for my $opt (['mekiki_library', 'libmekiki.so.0'],
               ['mekiki_brands_map', ''],
               ['mekiki_tld_map', ''],
               ['mekiki_lures_map', ''],
               ['mekiki_asn_db', ''],
               ['mekiki_asn_map', '']) {
    push @cmds, { setting => $opt->[0], is_admin => 1, default => $opt->[1],
                  type => $Mail::SpamAssassin::Conf::CONF_TYPE_STRING };
  }
  for my $opt (['mekiki_max_text_bytes', 1048576], ['mekiki_max_parts', 16],
               ['mekiki_max_hits', 64], ['mekiki_max_options', 8],
               ['mekiki_max_urls', 200], ['mekiki_max_dns', 8],
               ['mekiki_shared_ip_min_domains', 2]) {
    my $name = $opt->[0];
    push @cmds, {
      setting => $name, is_admin => 1, default => $opt->[1],
      code => sub {
        my ($c, $key, $value) = @_;
        return $Mail::SpamAssassin::Conf::MISSING_REQUIRED_VALUE
          if !defined $value || $value eq '';
        # mekiki_max_dns 0: no link lookups (the other bounds are at least 1).
        my $re = $name eq 'mekiki_max_dns' ? qr/^\s*(0|[1-9][0-9]{0,9})\s*$/
                                           : qr/^\s*([1-9][0-9]{0,9})\s*$/;
        return $Mail::SpamAssassin::Conf::INVALID_VALUE unless $value =~ $re;
        $c->{$key} = untaint_var($1) + 0;
        return;
      },
    };
  }
  $conf->{parser}->register_commands(\@cmds);
}

# ---------------------------------------------------------------------------
# The native library

sub _ffi {
  my ($path) = @_;
  return $FFI if $FFI && $FFI->{path} eq $path;
  require FFI::Platypus;
  require FFI::Platypus::Buffer;
  my $ffi = FFI::Platypus->new(api => 2, lib => [$path]);
  # Fail here, naming the library, rather than at the first message.
  my $version = $ffi->function('mekiki_version' => [] => 'string')->call;
  # Structures are unpacked by hand below: refuse a library of another ABI.
  my $abi = eval { $ffi->function('mekiki_abi_version' => [] => 'int')->call };
  die "libmekiki $version has " . (defined $abi ? "ABI $abi" : 'no ABI version') .
      "; this plugin needs ABI " . MEKIKI_ABI . " (install the plugin and the library " .
      "from the same build)\n" unless defined $abi && $abi == MEKIKI_ABI;
  my %f = (path => $path, ffi => $ffi, version => $version);
  my @sig = (
    [mekiki_catalogue_new => ['opaque', 'size_t', '(opaque,uint,string)->void', 'opaque', 'int*']
      => 'opaque'],
    [mekiki_catalogue_free => ['opaque'] => 'void'],
    [mekiki_strerror => ['int'] => 'string'],
    [mekiki_catalogue_brand_count => ['opaque'] => 'uint32'],
    [mekiki_catalogue_name_count => ['opaque'] => 'uint32'],
    [mekiki_catalogue_brand_id => ['opaque', 'uint32'] => 'string'],
    [mekiki_catalogue_brand_weight => ['opaque', 'uint32'] => 'double'],
    [mekiki_catalogue_brand_owns => ['opaque', 'uint32', 'opaque', 'size_t'] => 'int'],
    [mekiki_catalogue_brand_owns_sender => ['opaque', 'uint32', 'opaque', 'size_t'] => 'int'],
    [mekiki_scanner_new => ['opaque'] => 'opaque'],
    [mekiki_scanner_free => ['opaque'] => 'void'],
    [mekiki_scan_flags => ['opaque', 'opaque', 'size_t', 'opaque', 'size_t', 'size_t*', 'uint']
      => 'int'],
    [mekiki_scan_invisible => ['opaque', 'opaque'] => 'void'],
    [mekiki_subject_claims => ['opaque', 'opaque', 'size_t', 'opaque', 'size_t', 'size_t*'] => 'int'],
    [mekiki_host_check => ['opaque', 'opaque', 'size_t', 'opaque'] => 'int'],
    [mekiki_url_redirect_target => ['opaque', 'size_t', 'opaque', 'size_t'] => 'size_t'],
    [mekiki_asn_open => ['string', 'opaque', 'size_t'] => 'opaque'],
    [mekiki_asn_close => ['opaque'] => 'void'],
    [mekiki_asn_lookup => ['opaque', 'opaque', 'size_t', 'opaque'] => 'int'],
    [mekiki_asn_map_new => ['opaque', 'size_t', '(opaque,uint,string)->void', 'opaque', 'int*']
      => 'opaque'],
    [mekiki_asn_map_count => ['opaque'] => 'size_t'],
    [mekiki_tld_map_new => ['opaque', 'size_t', '(opaque,uint,string)->void', 'opaque', 'int*']
      => 'opaque'],
    [mekiki_tld_map_count => ['opaque'] => 'size_t'],
    [mekiki_tld_map_weight => ['opaque', 'opaque', 'size_t', 'opaque'] => 'double'],
    [mekiki_asn_map_weight => ['opaque', 'uint32', 'int', 'double'] => 'double'],
  );
  for my $s (@sig) {
    my $name = $s->[0];
    (my $short = $name) =~ s/^mekiki_//;
    $f{$short} = $ffi->function($name => $s->[1] => $s->[2]);
  }
  return $FFI = \%f;
}

# Bytes of a Perl string (SpamAssassin's decoded text may carry the UTF8 flag).
sub _bytes {
  my ($s) = @_;
  return '' unless defined $s;
  if (utf8::is_utf8($s)) {
    utf8::encode($s);
  }
  return $s;
}

sub _read_file {
  my ($path) = @_;
  open(my $fh, '<:raw', $path) or die "cannot read $path: $!\n";
  local $/;
  my $text = <$fh>;
  close($fh);
  return defined $text ? $text : '';
}

# A catalogue (brands or lures) from a map file: { cat, sc, ids, weights }.
# Bad lines are logged and skipped; an unusable map dies with the reason.
# The first bad lines of a map (the library quotes control bytes and invalid
# UTF-8 as \xNN), then a count: a garbage file must not flood the log.
sub _warn_bad_lines {
  my ($what, $path, $errors) = @_;
  for my $i (0 .. $#$errors) {
    if ($i >= MAX_LOGGED_ERRORS) {
      warn "mekiki: $what $path: " . (@$errors - MAX_LOGGED_ERRORS) .
           " more bad lines skipped, not listed\n";
      last;
    }
    warn "mekiki: $what $path: $errors->[$i] (line skipped)\n";
  }
}

sub _catalogue {
  my ($f, $path, $what) = @_;
  my $text = _read_file($path);
  my @errors;
  # mekiki_error_fn(ud, line, msg): the closure keeps the errors itself.
  my $cb = $f->{ffi}->closure(sub { my (undef, $line, $msg) = @_; push @errors, "line $line: $msg" });
  my $status = 0;
  my ($ptr, $len) = FFI::Platypus::Buffer::scalar_to_buffer($text);
  my $cat = $f->{catalogue_new}->call($ptr, $len, $cb, undef, \$status);
  # A map beyond the catalogue's bounds says why in its last report.
  die "cannot build the $what from $path: " .
      ($status == MEKIKI_ELIMIT && @errors ? $errors[-1] : $f->{strerror}->call($status)) . "\n"
    unless $cat;
  my $sc = $f->{scanner_new}->call($cat);
  unless ($sc) {
    $f->{catalogue_free}->call($cat);
    die "cannot allocate a scanner for the $what\n";
  }
  _warn_bad_lines($what, $path, \@errors);
  my $n = $f->{catalogue_brand_count}->call($cat);
  my (@ids, @weights);
  for my $b (0 .. $n - 1) {
    push @ids, $f->{catalogue_brand_id}->call($cat, $b);
    push @weights, $f->{catalogue_brand_weight}->call($cat, $b);
  }
  info("mekiki: $what loaded from $path: $n entries, " .
       $f->{catalogue_name_count}->call($cat) . " names");
  my %index;
  @index{@ids} = (0 .. $#ids);
  return { cat => $cat, sc => $sc, ids => \@ids, weights => \@weights, index => \%index,
           errors => scalar(@errors), hits => "\0" x (HIT_SIZE * LIMIT_MAX_HITS) };
}

# The ASN database and weight map, or () when the database is absent (it is
# optional: the ASN rules are then off).  A bad map or file dies.
sub _asn {
  my ($f, $db_path, $map_path) = @_;
  unless (-e $db_path) {
    info("mekiki: ASN database $db_path: not there; the ASN rules are off");
    return ();
  }
  my $err = "\0" x 256;
  my ($eptr, $elen) = FFI::Platypus::Buffer::scalar_to_buffer($err);
  my $db = $f->{asn_open}->call($db_path, $eptr, $elen);
  die "cannot open the ASN database (mekiki_asn_db $db_path): " . unpack('Z*', $err) . "\n"
    unless $db;
  my $text = _read_file($map_path);
  my @errors;
  my $cb = $f->{ffi}->closure(sub { my (undef, $line, $msg) = @_; push @errors, "line $line: $msg" });
  my $status = 0;
  my ($ptr, $len) = FFI::Platypus::Buffer::scalar_to_buffer($text);
  my $map = $f->{asn_map_new}->call($ptr, $len, $cb, undef, \$status);
  unless ($map) {
    $f->{asn_close}->call($db);
    die "cannot build the ASN map from $map_path\n";
  }
  _warn_bad_lines('ASN map', $map_path, \@errors);
  info("mekiki: ASN database $db_path and map $map_path loaded: " .
       $f->{asn_map_count}->call($map) . " networks");
  return ($db, $map);
}

# AS number and organisation of a numeric address, or ().
sub _asn_of {
  my ($st, $ip) = @_;
  $ip = _bytes($ip);
  return () if $ip eq '' || length($ip) > 64;
  my $out = "\0" x ASN_INFO_SIZE;
  my ($optr) = FFI::Platypus::Buffer::scalar_to_buffer($out);
  my ($ptr, $len) = FFI::Platypus::Buffer::scalar_to_buffer($ip);
  return () if $st->{f}{asn_lookup}->call($st->{asn_db}, $ptr, $len, $optr) != 1;
  return unpack(ASN_INFO_PACK, $out);
}

sub _asn_weight {
  my ($st, $asn, $context, $dflt) = @_;
  return $st->{f}{asn_map_weight}->call($st->{asn_map}, $asn, $context, $dflt || 0);
}

sub _asn_option {
  my ($host, $ip, $asn, $org) = @_;
  my $o = "$ip:AS$asn";
  $o .= ":$org" if defined $org && $org ne '';
  $o = "$host:$o" if defined $host;
  return $o;
}

# "suffix weight" lines, parsed by the library: { map, f } (a bad line is
# logged with its number and skipped).
sub _tld_weights {
  my ($f, $path) = @_;
  my $text = _read_file($path);
  my @errors;
  my $cb = $f->{ffi}->closure(sub { my (undef, $line, $msg) = @_; push @errors, "line $line: $msg" });
  my $status = 0;
  my ($ptr, $len) = FFI::Platypus::Buffer::scalar_to_buffer($text);
  my $map = $f->{tld_map_new}->call($ptr, $len, $cb, undef, \$status);
  die "cannot build the TLD map from $path: " . $f->{strerror}->call($status) . "\n" unless $map;
  _warn_bad_lines('TLD map', $path, \@errors);
  info("mekiki: TLD map loaded from $path: " . $f->{tld_map_count}->call($map) . " entries");
  return { map => $map, f => $f };
}

# Loads the library and the maps once per configuration; returns the state
# or undef (the reason logged; lint fails through conf->{errors}).
sub _load {
  my ($self, $conf) = @_;
  return $self->{state} if $self->{state};
  return undef if $self->{load_failed};
  my %st;
  eval {
    my $lib = untaint_var($conf->{mekiki_library});
    my $brands = untaint_var($conf->{mekiki_brands_map});
    die "option mekiki_brands_map (path of the brand map) is required\n"
      unless defined $brands && $brands ne '';
    my $f = eval { _ffi($lib) };
    die "cannot load libmekiki from mekiki_library $lib: " . ($@ =~ s/\s+$//r) . "\n" unless $f;
    $st{f} = $f;
    $st{brands} = _catalogue($f, $brands, 'brand map');
    my $lures = untaint_var($conf->{mekiki_lures_map});
    $st{lures} = _catalogue($f, $lures, 'lure map') if defined $lures && $lures ne '';
    my $tld = untaint_var($conf->{mekiki_tld_map});
    $st{tld} = _tld_weights($f, $tld) if defined $tld && $tld ne '';
    my $asn_db = untaint_var($conf->{mekiki_asn_db});
    my $asn_map = untaint_var($conf->{mekiki_asn_map});
    if (defined $asn_db && $asn_db ne '' && defined $asn_map && $asn_map ne '') {
      @st{qw(asn_db asn_map)} = _asn($f, $asn_db, $asn_map);
    }
    1;
  } or do {
    my $err = $@ || 'unknown error';
    $err =~ s/\s+$//;
    warn "mekiki: $err; mekiki rules disabled\n";
    $conf->{errors}++;
    $self->{load_failed} = 1;
    return undef;
  };
  return $self->{state} = \%st;
}

# Base scores (per score set) of our rules, read once the configuration is
# parsed: a brand or TLD weight scales them per hit (rspamd's dynamic
# weights), and SpamAssassin stores a dynamic score back into its
# configuration, so the base must be kept apart.
sub _save_base_scores {
  my ($self, $conf) = @_;
  for my $rule (@RULES) {
    $self->{base}{$rule} = [ map { $conf->{scoreset}->[$_]->{$rule} } 0 .. 3 ];
  }
}

sub finish_parsing_end {
  my ($self, $opts) = @_;
  my $conf = $opts->{conf};
  $self->_save_base_scores($conf);
  $self->_load($conf);
  return;
}

sub user_conf_parsing_end {
  my ($self, $opts) = @_;
  $self->_save_base_scores($opts->{conf});
  return;
}

# ---------------------------------------------------------------------------
# Scanning

# The first n hits of the catalogue's hit buffer, as hashes.
sub _unpack_hits {
  my ($c, $n) = @_;
  my @hits;
  for my $i (0 .. $n - 1) {
    my ($brand, $name, $start, $end, $flags, $nforeign, $nlisted, @foreign) =
      unpack(HIT_PACK, substr($c->{hits}, $i * HIT_SIZE, HIT_SIZE));
    push @hits, {
      brand => $c->{ids}[$brand], index => $brand, weight => $c->{weights}[$brand],
      confusable => ($flags & HIT_CONFUSABLE) ? 1 : 0, weak => ($flags & HIT_WEAK) ? 1 : 0,
      foreign => [ map { sprintf('U+%04X', $_) } @foreign[0 .. $nlisted - 1] ],
    };
  }
  return @hits;
}

# The brands named by the whole content of the subject's leading bracketed
# tags (mekiki_subject_claims()).
sub _subject_claims {
  my ($st, $c, $subject, $max_bytes) = @_;
  my $text = _bytes($subject);
  $text = substr($text, 0, $max_bytes) if length($text) > $max_bytes;
  my ($ptr, $len) = FFI::Platypus::Buffer::scalar_to_buffer($text);
  my ($hptr) = FFI::Platypus::Buffer::scalar_to_buffer($c->{hits});
  my $n = 0;
  my $rc = $st->{f}{subject_claims}->call($c->{sc}, $ptr, $len, $hptr, 4, \$n);
  die "subject scan failed ($rc)\n" if $rc != 0;
  return [ _unpack_hits($c, $n) ];
}

# Hits of catalogue $c in $text; with $flags SCAN_CONFUSABLE_ONLY only the
# look-alikes, so that plain mentions cannot use up $max_hits (a body of 70
# "Your Amazon order." lines followed by a Cyrillic "Аmazon").
sub _scan {
  my ($st, $c, $text, $max_bytes, $max_hits, $flags) = @_;
  my $f = $st->{f};
  $text = _bytes($text);
  $text = substr($text, 0, $max_bytes) if length($text) > $max_bytes;
  $max_hits = LIMIT_MAX_HITS if $max_hits > LIMIT_MAX_HITS;
  my ($ptr, $len) = FFI::Platypus::Buffer::scalar_to_buffer($text);
  my ($hptr) = FFI::Platypus::Buffer::scalar_to_buffer($c->{hits});
  my $n = 0;
  my $rc = $f->{scan_flags}->call($c->{sc}, $ptr, $len, $hptr, $max_hits, \$n, $flags || 0);
  die "scan failed ($rc)\n" if $rc != 0;
  my @hits = _unpack_hits($c, $n);
  my $inv = "\0" x INVISIBLE_SIZE;
  my ($iptr) = FFI::Platypus::Buffer::scalar_to_buffer($inv);
  $f->{scan_invisible}->call($c->{sc}, $iptr);
  my ($count, undef, $cp) = unpack(INVISIBLE_PACK, $inv);
  return (\@hits, $count ? sprintf('U+%04X', $cp) : undef);
}

sub _owns {
  my ($st, $brand_index, $domain) = @_;
  $domain = _bytes($domain);
  return 0 if $domain eq '';
  my ($ptr, $len) = FFI::Platypus::Buffer::scalar_to_buffer($domain);
  return $st->{f}{catalogue_brand_owns}->call($st->{brands}{cat}, $brand_index, $ptr, $len);
}

# A From address (local@domain) is the brand's own ('~' domains of the map
# only for their role mailboxes).
sub _owns_sender {
  my ($st, $brand_index, $addr) = @_;
  $addr = _bytes($addr);
  return 0 if $addr eq '';
  my ($ptr, $len) = FFI::Platypus::Buffer::scalar_to_buffer($addr);
  return $st->{f}{catalogue_brand_owns_sender}->call($st->{brands}{cat}, $brand_index, $ptr,
                                                     $len);
}

# { brand, index, weight, own, lookalike, mixed_script } or undef.
sub _host {
  my ($st, $host) = @_;
  $host = _bytes($host);
  return undef if $host eq '' || length($host) > 253;
  my $c = $st->{brands};
  my $v = "\0" x VERDICT_SIZE;
  my ($vptr) = FFI::Platypus::Buffer::scalar_to_buffer($v);
  my ($ptr, $len) = FFI::Platypus::Buffer::scalar_to_buffer($host);
  return undef if $st->{f}{host_check}->call($c->{sc}, $ptr, $len, $vptr) != 0;
  my ($flags, $brand, undef, undef, $registrable) = unpack(VERDICT_PACK, $v);
  my %r = (registrable => $registrable,
           own => ($flags & HOST_BRAND_DOMAIN) ? 1 : 0,
           lookalike => ($flags & HOST_LOOKALIKE) ? 1 : 0,
           mixed_script => ($flags & HOST_MIXED_SCRIPT) ? 1 : 0);
  if ($brand != NO_BRAND) {
    @r{qw(brand index weight)} = ($c->{ids}[$brand], $brand, $c->{weights}[$brand]);
  }
  return \%r;
}

# Where a redirecting link goes (mekiki_url_redirect_target), or undef.
sub _redirect_target {
  my ($st, $url) = @_;
  $url = _bytes($url);
  return undef if $url eq '';
  my ($ptr, $len) = FFI::Platypus::Buffer::scalar_to_buffer($url);
  my $cap = 2048;
  my $out = "\0" x $cap;
  my ($optr) = FFI::Platypus::Buffer::scalar_to_buffer($out);
  my $n = $st->{f}{url_redirect_target}->call($ptr, $len, $optr, $cap);
  return undef unless $n;
  if ($n >= $cap) {
    $cap = $n + 1;
    $out = "\0" x $cap;
    ($optr) = FFI::Platypus::Buffer::scalar_to_buffer($out);
    $n = $st->{f}{url_redirect_target}->call($ptr, $len, $optr, $cap);
  }
  return substr($out, 0, $n);
}

# The host of a redirect target, as lua/mekiki.lua's target_host:
# scheme://[userinfo@]host[:port], lower case, without a trailing dot.
sub _target_host {
  my ($target) = @_;
  return undef unless $target =~ m{^[a-z][a-z0-9+.\-]*://([^/?#\\]*)}i;
  my $auth = $1;
  $auth =~ s/^.*\@//s;
  my $host;
  if ($auth =~ /^\[([^\]]*)\]/) {
    $host = $1;
  } else {
    ($host = $auth) =~ s/:.*\z//s;
  }
  $host = lc $host;
  $host =~ s/\.\z//;
  return $host eq '' ? undef : $host;
}

# Where a link goes.  A link to a brand's own host that carries another URL
# in a parameter (bing.com/ck/a?...&u=a1<base64>, google.com/url?q=...) is a
# decoy when the URL it carries is not the brand's: phishers link to the
# brand's own open redirect or click tracker so that the link seems to go to
# the brand.  Such a link counts as going to the target's host (for the
# mismatch, TLD, look-alike and ASN checks alike), following at most
# MAX_REDIRECT_HOPS redirectors.  Same rule as lua/mekiki.lua's redirect_host.
sub _redirect_host {
  my ($st, $uri, $host) = @_;
  my $s = $uri;
  for (1 .. MAX_REDIRECT_HOPS) {
    my $v = _host($st, $host);
    last unless $v && $v->{own} && defined $v->{brand};
    my $target = _redirect_target($st, $s);
    my $th = defined $target ? _target_host($target) : undef;
    last if !defined $th || _owns($st, $v->{index}, $th);
    ($host, $s) = ($th, $target);
  }
  return $host;
}

# An ordered set of options, bounded, each with a weight (the brand's weight;
# 1 where no brand is involved).
sub _new_set { return { seen => {}, list => [] } }

sub _add {
  my ($self, $set, $opt, $weight) = @_;
  $weight = 1.0 unless defined $weight;
  if (exists $set->{seen}{$opt}) {
    $set->{seen}{$opt} = $weight if $weight > $set->{seen}{$opt};
  } elsif (@{$set->{list}} < $self->{max_options}) {
    $set->{seen}{$opt} = $weight;
    push @{$set->{list}}, $opt;
  }
}

# Record a result: rule => { options, weight = highest weight among them }.
sub _insert {
  my ($r, $rule, $set, $list) = @_;
  $list ||= $set->{list};
  my $w = 0;
  for (@$list) {
    my $ow = defined $set->{seen}{$_} ? $set->{seen}{$_} : 1.0;
    $w = $ow if $ow > $w;
  }
  $r->{$rule} = { options => [@$list], weight => $w };
}

# A weak hit written only in fullwidth ASCII: Japanese typography and a
# disguise; a weak sign, and a claim only in a message none of whose links
# goes to a brand's own domain (as in the rspamd plugin).
sub _fullwidth_only {
  my ($hit) = @_;
  return 0 unless @{$hit->{foreign}};
  for my $cp (@{$hit->{foreign}}) {
    my ($hex) = $cp =~ /^U\+([0-9A-F]+)\z/i or return 0;
    my $n = hex $hex;
    return 0 if $n < 0xFF01 || $n > 0xFF5E;
  }
  return 1;
}

sub _confusable_option {
  my ($hit) = @_;
  return $hit->{brand} unless @{$hit->{foreign}};
  return $hit->{brand} . ':' . join(',', @{$hit->{foreign}});
}

sub _scan_into {
  my ($self, $st, $found, $text) = @_;
  my $conf = $self->{conf};
  if ($st->{lures}) {
    my ($hits) = _scan($st, $st->{lures}, $text, $conf->{mekiki_max_text_bytes},
                       $conf->{mekiki_max_hits});
    $self->_add($found->{lures}, $_->{brand}) for @$hits;
  }
  my ($hits, $invisible) = _scan($st, $st->{brands}, $text, $conf->{mekiki_max_text_bytes},
                                 $conf->{mekiki_max_hits}, SCAN_CONFUSABLE_ONLY);
  $self->_add($found->{invisible}, $invisible) if defined $invisible;
  for my $hit (@$hits) {
    next unless $hit->{confusable};
    my $set = $hit->{weak} ? $found->{weak} : $found->{strong};
    $self->_add($set, _confusable_option($hit), $hit->{weight});
    if ($hit->{weak} && _fullwidth_only($hit)) {
      $found->{fullwidth_claimed}{$hit->{brand}} = [$hit->{index}, $hit->{weight}];
    } else {
      $found->{claimed}{$hit->{brand}} = [$hit->{index}, $hit->{weight}];
    }
    $found->{strong_brands}{$hit->{brand}} = 1 unless $hit->{weak};
  }
}

# The subject and the rendered text parts (HTML parts as SpamAssassin renders
# them), at most mekiki_max_parts parts.
sub _check_body {
  my ($self, $st, $pms, $found, $r) = @_;
  my $subject = $pms->get('Subject', undef);
  if (defined $subject) {
    $subject =~ s/\r?\n\z//;
    $self->_scan_into($st, $found, $subject) if length $subject;
  }
  my $n = 0;
  for my $part ($pms->{msg}->find_parts(qr/^text\b/i, 1)) {
    if (++$n > $self->{conf}{mekiki_max_parts}) {
      dbg("mekiki: skipping text parts after the $self->{conf}{mekiki_max_parts}-th");
      last;
    }
    my ($type, $text) = $part->rendered();
    $self->_scan_into($st, $found, $text) if defined $text && length $text;
  }
  _insert($r, 'MEKIKI_BRAND_CONFUSABLE', $found->{strong}) if @{$found->{strong}{list}};
}

sub _check_from {
  my ($self, $st, $pms, $found, $r) = @_;
  my $addr = $pms->get('From:addr', undef) // '';
  my $name = $pms->get('From:name', undef);
  # "Facebook" <>: a display name without an address claims as much.
  return unless $addr ne '' || (defined $name && length $name);
  my $domain = $addr =~ /\@([^\@]*)\z/ ? $1 : '';
  my ($confusable, $spoof) = (_new_set(), _new_set());
  # A delivery report (multipart/report, a bounce): its From display name
  # names the mail system that writes it, not a sender claiming a brand.
  my $report = ($pms->get('Content-Type', '') // '') =~ m{^\s*multipart/report}i;
  if (defined $name && length $name) {
    my ($hits) = _scan($st, $st->{brands}, $name, $self->{conf}{mekiki_max_text_bytes},
                       $self->{conf}{mekiki_max_hits});
    for my $hit (@$hits) {
      my $opt = _confusable_option($hit);
      if ($hit->{confusable} && !$hit->{weak}) {
        $self->_add($confusable, $opt, $hit->{weight});
        $found->{strong_brands}{$hit->{brand}} = 1;
      } elsif ($hit->{weak}) {
        $self->_add($found->{weak}, $opt, $hit->{weight});
      }
      if ($hit->{confusable}) {
        $found->{claimed}{$hit->{brand}} = [$hit->{index}, $hit->{weight}];
        push @{$found->{from_claims}}, $hit;
      }
      if ($report && !$hit->{confusable}) {
        # A delivery report: the display name names the mail system.
      } elsif (!_owns_sender($st, $hit->{index}, $addr)) {
        $found->{claimed}{$hit->{brand}} = [$hit->{index}, $hit->{weight}];
        push @{$found->{from_claims}}, $hit unless $hit->{confusable};
        $self->_add($spoof, $hit->{brand} . ':' . ($domain ne '' ? $domain : '<none>'),
                    $hit->{weight});
      } else {
        # Decided when the rule runs, after SpamAssassin's DMARC rules.
        push @{$found->{own_claims}}, [$hit->{brand} . ':' . $domain . ':dmarc-fail',
                                       $hit->{weight}];
      }
    }
  }
  _insert($r, 'MEKIKI_FROM_CONFUSABLE', $confusable) if @{$confusable->{list}};
  $found->{spoof} = $spoof;
}

# Where the replies go: the From header claims a brand and Reply-To sends
# the replies to a mailbox neither the brand's nor at the From domain (the
# rspamd plugin's check_reply_to says why).
sub _check_reply_to {
  my ($self, $st, $pms, $found, $r) = @_;
  return unless @{$found->{from_claims}};
  my $reply = $pms->get('Reply-To:addr', undef);
  return unless defined $reply && $reply ne '';
  $reply = lc $reply;
  my $reply_domain = $reply =~ /\@([^\@]+)\z/ ? $1 : '';
  my $addr = $pms->get('From:addr', undef) // '';
  my $from_domain = $addr =~ /\@([^\@]*)\z/ ? lc $1 : '';
  return if $reply_domain eq $from_domain;
  my $set = _new_set();
  for my $hit (@{$found->{from_claims}}) {
    next if _owns_sender($st, $hit->{index}, $reply);
    $self->_add($set, $hit->{brand} . ':' . ($reply_domain ne '' ? $reply_domain : '<none>'),
                $hit->{weight});
  }
  _insert($r, 'MEKIKI_BRAND_REPLYTO_MISMATCH', $set) if @{$set->{list}};
}

# The subject's leading bracketed tag names a brand while the From address
# is not one of the brand's (MEKIKI_SUBJECT_BRAND); a claim checked against
# the links only when the infrastructure is risky too (the rspamd plugin's
# check_subject says why).
sub _check_subject {
  my ($self, $st, $pms, $found, $links, $r) = @_;
  my $subject = $pms->get('Subject', undef);
  return unless defined $subject;
  $subject =~ s/\r?\n\z//;
  return if $subject eq '';
  my $addr = $pms->get('From:addr', undef) // '';
  my $domain = $addr =~ /\@([^\@]*)\z/ ? lc $1 : '';
  my $set = _new_set();
  my $hits = _subject_claims($st, $st->{brands}, $subject, $self->{conf}{mekiki_max_text_bytes});
  for my $hit (@$hits) {
    next if _owns_sender($st, $hit->{index}, $addr);
    $self->_add($set, $hit->{brand} . ':' . ($domain ne '' ? $domain : '<none>'), $hit->{weight});
    $found->{claimed}{$hit->{brand}} = [$hit->{index}, $hit->{weight}] if $links->{risky};
  }
  _insert($r, 'MEKIKI_SUBJECT_BRAND', $set) if @{$set->{list}};
}

# The weight of the longest listed suffix of $host in the TLD map, or undef.
sub _tld_weight {
  my ($tld, $host) = @_;
  $host = _bytes($host);
  return undef if $host eq '';
  my ($ptr, $len) = FFI::Platypus::Buffer::scalar_to_buffer($host);
  my $w = $tld->{f}{tld_map_weight}->call($tld->{map}, $ptr, $len, undef);
  return $w < 0 ? undef : $w;
}

# The brand whose domain a link's visible text shows, as [index, weight, id,
# the host shown].
sub _shown_brand {
  my ($st, $visible) = @_;
  return undef unless defined $visible;
  $visible = lc _bytes($visible);
  return undef if $visible eq '' || length($visible) > 256;
  my $host;
  if ($visible =~ m{^\s*[a-z]+://([a-z0-9.\-]+)}) {
    $host = $1;
  } elsif ($visible =~ m{^\s*([a-z0-9\-]+\.[a-z0-9.\-]+)\s*/?\s*\z}) {
    $host = $1;
  }
  return undef unless defined $host && index($host, '.') >= 0;
  my $v = _host($st, $host);
  return [$v->{index}, $v->{weight}, $v->{brand}, $host] if $v && $v->{own} && defined $v->{brand};
  return undef;
}

# The text of an HTML anchor as the check reads it, as rspamd's url:get_visible()
# has it: HTML.pm gathers the text between <a href> and </a> and writes "<img>\n"
# for each image in it; an image is no text (rspamd's alt texts are removed on
# the Lua side), and white space and zero-width spaces around the text are not
# shown.
my $EDGE = qr/[\s\x{200B}-\x{200D}\x{FEFF}\x{AD}]/;
sub _anchor_text {
  my ($text) = @_;
  utf8::decode($text) unless utf8::is_utf8($text);
  $text =~ s/<img>\n/ /g;
  $text =~ s/^$EDGE+//;
  $text =~ s/$EDGE+\z//;
  return $text;
}

# Link hosts of the message, in a stable order: those of rspamd's URL list
# (links, text URLs, forms and frames; not images, mail addresses or the
# domains of DKIM signatures), with their anchor texts; a brand's own host
# that redirects elsewhere replaced by where it goes (_redirect_host).
#
# SpamAssassin also reads a bare domain in text ("Amazon.co.jp をご利用…") as
# a link "http://Amazon.co.jp"; rspamd does not, and such a brand mention is
# no link: a URI found only in text counts when the text has it with its
# scheme, or it starts with "www." (_in_text).
#
# Bounded as the rspamd plugin is: the links of the first mekiki_max_urls
# hosts (all that _check_urls and _start_link_dns look at).
sub _links {
  my ($self, $pms, $st) = @_;
  return $pms->{mekiki_links} if $pms->{mekiki_links};
  my $udl = $pms->get_uri_detail_list();
  my $max = $pms->{conf}{mekiki_max_urls};
  my ($text, @links);
  my $nhosts = 0;
  for my $uri (sort keys %$udl) {
    my $info = $udl->{$uri};
    my $types = $info->{types} || {};
    next unless grep { $types->{$_} } qw(a area parsed form frame iframe link);
    next if $uri =~ /^\s*mailto:/i;
    if (!grep { $types->{$_} } qw(a area form frame iframe link)) {
      $text ||= _text_words($pms);
      next unless $uri =~ m{^[a-z][a-z0-9+.\-]*://www\.}i || _in_text($text, lc $uri, $max);
    }
    next unless $info->{hosts};
    # Anchor texts: only those of <a> elements of HTML parts (HTML.pm), never
    # text near a URI in plain text.
    my $anchors = $types->{a} ? $info->{anchor_text} || [] : [];
    # from: the hosts SpamAssassin gives the URI; hosts: where each goes.
    # SpamAssassin adds to a URI's hosts those of URLs it finds inside it
    # (redirector_pattern, "http://..." in the query); rspamd lists those as
    # URLs of their own, with no anchor text and followed on their own.  So
    # only the URI's own host (self) has its anchor texts and is followed
    # (_redirect_host); every host when SpamAssassin's host of the URI is not
    # among them.
    my @from = sort keys %{$info->{hosts}};
    my (undef, $self_host) = $pms->{main}{registryboundaries}->uri_to_domain($uri);
    $self_host = lc $self_host if defined $self_host;
    my @self = map { defined $self_host && lc $_ eq $self_host ? 1 : 0 } @from;
    @self = (1) x @from unless grep { $_ } @self;
    my @hosts = @from;
    if ($st && $st->{brands}) {
      for my $i (grep { $self[$_] } 0 .. $#from) {
        my $r = _redirect_host($st, $uri, lc $from[$i]);
        $hosts[$i] = $r if $r ne lc $from[$i];
      }
    }
    push @links, { hosts => \@hosts, from => \@from, self => \@self,
                   anchors => [map { _anchor_text($_) } grep { defined } @$anchors] };
    last if ($nhosts += @hosts) >= $max;
  }
  return $pms->{mekiki_links} = \@links;
}

# The decoded text (lower case) for _in_text, found once per message: the
# whole text, its words (runs without ASCII white space) that have "://",
# and the URIs with http, https or ftp in those words, cut as SpamAssassin
# cuts a URI it finds in text (at ')' without '(' before it, and without
# trailing punctuation).
sub _text_words {
  my ($pms) = @_;
  my $text = lc join("\n", @{$pms->get_decoded_stripped_body_text_array()});
  my (@words, %uris);
  for my $w (split /[ \t\n\r\f]+/, $text) {
    next if index($w, '://') < 0;
    push @words, $w;
    while ($w =~ m#((?:https?|ftp)://[^><"`}\]{\[|\x1b\xa0]+)#g) {
      (my $u = $1) =~ s/(^[^(]*)\).*$/$1/;
      $u =~ s/[-~!\@#^&*()_+=:;'?,.]*$//;
      $uris{$u} = 1;
    }
  }
  return { text => $text, words => join("\n", @words), uris => \%uris, searches => 0 };
}

# Does the text have the URI u (lower case)?  A search of the whole text for
# each URI took time quadratic in the text: a message of many bare domains
# (URIs that are not in the text with a scheme) cost 4 s in 512 KB.  A URI
# written with its scheme is usually one of the text's URIs (a hash
# lookup); else one with "://" and no white space can only be inside a word
# that has "://", and those words are searched, at most max times per
# message (then the URI counts as not in the text).
sub _in_text {
  my ($t, $u, $max) = @_;
  return 1 if exists $t->{uris}{$u};
  return 0 if $t->{searches}++ >= $max;
  my $in = index($u, '://') >= 0 && $u !~ /[ \t\n\r\f]/ ? $t->{words} : $t->{text};
  return index($in, $u) >= 0;
}

sub _check_urls {
  my ($self, $st, $pms, $r) = @_;
  my ($best, $tld_hosts, $lookalikes, %seen) = (0, _new_set(), _new_set());
  my $links = { hosts => [], shown => _new_set() };
  my $n = 0;
  LINK: for my $link (@{$self->_links($pms, $st)}) {
    for my $i (0 .. $#{$link->{hosts}}) {
      if (++$n > $self->{conf}{mekiki_max_urls}) {
        dbg("mekiki: skipping links after the $self->{conf}{mekiki_max_urls}-th");
        last LINK;
      }
      my ($host, $from) = (lc $link->{hosts}[$i], lc $link->{from}[$i]);
      next if $host eq '';
      for my $anchor ($link->{self}[$i] ? @{$link->{anchors}} : ()) {
        my $shown = _shown_brand($st, $anchor);
        # (a text showing the redirector's own host says where the link goes)
        my $goes = ($host ne $from && $shown && $shown->[3] eq $from) ? $from : $host;
        if ($shown && !_owns($st, $shown->[0], $goes)) {
          $self->_add($links->{shown}, "$shown->[2]:$host", $shown->[1]);
        }
      }
      next if $seen{$host}++;
      push @{$links->{hosts}}, $host;
      my $w = $st->{tld} && _tld_weight($st->{tld}, $host);
      if ($w && $w > 0) {
        $best = $w if $w > $best;
        $self->_add($tld_hosts, $host);
      }
      my $v = _host($st, $host);
      if ($v && $v->{lookalike} && defined $v->{brand}) {
        $self->_add($lookalikes, "$host:$v->{brand}", $v->{weight});
      } elsif ($v && $v->{mixed_script}) {
        $self->_add($lookalikes, "$host:mixed-script");
      }
    }
  }
  _insert($r, 'MEKIKI_URL_LOOKALIKE', $lookalikes) if @{$lookalikes->{list}};
  $r->{MEKIKI_URL_TLD} = { options => $tld_hosts->{list}, weight => $best } if $best > 0;
  # Whether the message's infrastructure looks risky (_check_subject).
  $links->{risky} = ($best > 0 || @{$lookalikes->{list}}) ? 1 : 0;
  my $addr = $pms->get('From:addr', undef);
  if ($st->{tld} && defined $addr && $addr =~ /\@([^\@]+)\z/) {
    my $domain = lc $1;
    my $w = _tld_weight($st->{tld}, $domain);
    if ($w && $w > 0) {
      $r->{MEKIKI_FROM_TLD} = { options => [$domain], weight => $w };
      $links->{risky} = 1;
    }
  }
  return $links;
}

sub _check_mismatch {
  my ($self, $st, $found, $links, $r) = @_;
  my $mismatch = _new_set();
  $self->_add($mismatch, $_, $links->{shown}{seen}{$_}) for @{$links->{shown}{list}};
  if (@{$links->{hosts}}) {
    my %claimed = %{$found->{claimed}};
    if (%{$found->{fullwidth_claimed} || {}}
        && !grep { my $v = _host($st, $_); $v && $v->{own} } @{$links->{hosts}}) {
      %claimed = (%{$found->{fullwidth_claimed}}, %claimed);
    }
    for my $brand (sort keys %claimed) {
      my ($index, $weight) = @{$claimed{$brand}};
      next if grep { _owns($st, $index, $_) } @{$links->{hosts}};
      $self->_add($mismatch, "$brand:$links->{hosts}[0]", $weight);
    }
  }
  _insert($r, 'MEKIKI_BRAND_URL_MISMATCH', $mismatch) if @{$mismatch->{list}};
}

# Everything, once per message: { rule => { options, weight } }, plus what
# MEKIKI_FROM_BRAND_SPOOF decides later.
sub _analyse {
  my ($self, $pms) = @_;
  return $pms->{mekiki} if $pms->{mekiki};
  my $r = $pms->{mekiki} = { results => {} };
  my $st = $self->_load($pms->{conf}) or return $r;
  $self->{conf} = $pms->{conf};
  $self->{max_options} = $pms->{conf}{mekiki_max_options};
  my $res = $r->{results};
  eval {
    my $links = $self->_check_urls($st, $pms, $res);
    my $found = { strong => _new_set(), weak => _new_set(), invisible => _new_set(),
                  lures => _new_set(), strong_brands => {}, claimed => {}, fullwidth_claimed => {},
                  own_claims => [], from_claims => [] };
    $self->_check_body($st, $pms, $found, $res);
    $self->_check_from($st, $pms, $found, $res);
    $self->_check_subject($st, $pms, $found, $links, $res);
    $self->_check_reply_to($st, $pms, $found, $res);
    my @weak = grep { !$found->{strong_brands}{ (split /:/, $_, 2)[0] } } @{$found->{weak}{list}};
    _insert($res, 'MEKIKI_BRAND_CONFUSABLE_WEAK', $found->{weak}, \@weak) if @weak;
    if (@{$found->{invisible}{list}} && !@{$found->{strong}{list}}) {
      $res->{MEKIKI_INVISIBLE_IN_WORD} = { options => $found->{invisible}{list}, weight => 1 };
    }
    $self->_check_mismatch($st, $found, $links, $res);
    if (@{$found->{lures}{list}}) {
      $res->{MEKIKI_LURE} = { options => $found->{lures}{list}, weight => 1 };
    }
    $r->{spoof} = $found->{spoof};
    $r->{own_claims} = $found->{own_claims};
    1;
  } or do {
    my $err = $@ || 'unknown error';
    $err =~ s/\s+$//;
    info("mekiki: message skipped: $err");
    $r->{results} = {};
  };
  return $r;
}

# ---------------------------------------------------------------------------
# Eval rules

# header RULE eval:check_mekiki('RULE'): hits when the analysis found RULE,
# with RULE's score scaled by the weight (rspamd's dynamic weight) and the
# options in the report.
sub check_mekiki {
  my ($self, $pms, $rule) = @_;
  return 0 unless defined $rule;
  my $r = $self->_analyse($pms);
  my $res = $r->{results}{$rule};
  if ($rule eq 'MEKIKI_FROM_BRAND_SPOOF' && $r->{spoof}) {
    # A brand claimed from its own domain is a spoof when DMARC failed.
    my $set = $r->{spoof};
    if (grep { $pms->{tests_already_hit}{$_} } @DMARC_FAIL_RULES) {
      $self->_add($set, $_->[0], $_->[1]) for @{$r->{own_claims} || []};
    }
    if (@{$set->{list}}) {
      my %one;
      _insert(\%one, $rule, $set);
      $res = $one{$rule};
    }
  }
  return 0 unless $res;
  $self->_hit($pms, $rule, $res);
  return 0;
}

# got_hit with the rule's base score scaled by the result's weight.
sub _hit {
  my ($self, $pms, $rule, $res) = @_;
  my $set = $pms->{conf}->get_score_set();
  my $base = $self->{base}{$rule} ? $self->{base}{$rule}[$set] : undef;
  $base = $pms->{conf}{scores}{$rule} unless defined $base;
  return 0 unless $base;
  my $score = sprintf('%.3f', $base * $res->{weight}) + 0;
  return 0 unless $score;
  $pms->test_log(join(',', @{$res->{options}}), $rule) if @{$res->{options}};
  $pms->got_hit($rule, '', ruletype => 'eval', score => $score);
  return 1;
}

# header MEKIKI_SENDER_ASN eval:check_mekiki_sender_asn(): the address that
# handed the message to our network (the first untrusted relay) is in a
# network with a sender weight in the ASN map.
sub check_mekiki_sender_asn {
  my ($self, $pms) = @_;
  my $rule = 'MEKIKI_SENDER_ASN';
  my $st = $self->_load($pms->{conf});
  return 0 unless $st && $st->{asn_db};
  my $relay = $pms->{relays_untrusted} && $pms->{relays_untrusted}[0];
  return 0 unless $relay && defined $relay->{ip} && !$relay->{ip_private};
  my ($asn, $org) = _asn_of($st, $relay->{ip});
  return 0 unless $asn;
  my $w = _asn_weight($st, $asn, ASN_SENDER, 0);
  dbg("mekiki: sender $relay->{ip} is AS$asn $org, weight $w");
  return 0 unless $w > 0;
  $self->{max_options} = $pms->{conf}{mekiki_max_options};
  $self->_hit($pms, $rule, { options => [_asn_option(undef, $relay->{ip}, $asn, $org)],
                             weight => $w });
  return 0;
}

# header MEKIKI_URL_ASN eval:check_mekiki_link_asn('MEKIKI_URL_ASN'), and the
# same for MEKIKI_URL_SHARED_IP (tflags net: not run under -L): the link hosts
# are resolved (A and AAAA, at most mekiki_max_dns hosts, risky TLDs first)
# through SpamAssassin's own asynchronous resolver; the rules are decided
# when every answer is in.
sub check_mekiki_link_asn {
  my ($self, $pms, $rule) = @_;
  return 0 unless defined $rule;
  my $st = $self->_load($pms->{conf});
  return 0 unless $st && $st->{asn_db};
  my $d = $pms->{mekiki_dns};
  if ($d && $d->{done}) {
    $self->_score_link_addresses($pms, $st, $rule);
    return 0;
  }
  unless ($d) {
    # pending 1 while launching: an answer SpamAssassin already has comes
    # back at once, inside bgsend_and_start_lookup.
    $d = $pms->{mekiki_dns} = { rules => {}, pending => 1 };
    $d->{rules}{$rule} = 1;
    $self->_start_link_dns($pms, $st, $d);
    $self->_dns_answered($pms, $st, $d);
    return 0 if $d->{done}; # decided (and scored) already
  }
  if ($d->{pending}) {
    # undef: not ready yet (SpamAssassin 4's asynchronous eval rules); the
    # answers call rule_ready or got_hit.
    $d->{rules}{$rule} = 1;
    return undef;
  }
  return 0;
}

sub _start_link_dns {
  my ($self, $pms, $st, $d) = @_;
  my $conf = $pms->{conf};
  my (@hosts, %seen);
  my $n = 0;
  for my $link (@{$self->_links($pms, $st)}) {
    for my $host (@{$link->{hosts}}) {
      last if ++$n > $conf->{mekiki_max_urls};
      $host = lc $host;
      $host =~ s/^\[(.*)\]\z/$1/;
      $host =~ s/\.\z//;
      next if $host eq '' || $seen{$host}++;
      my ($domain, $own, $literal) = ($host, 0, 0);
      if ($host =~ /^\d+\.\d+\.\d+\.\d+\z/ || index($host, ':') >= 0) {
        $literal = 1;
      } else {
        my $v = _host($st, $host);
        $own = $v && $v->{own};
        # (the verdict's registrable domain)
        $domain = $v->{registrable} if $v && defined $v->{registrable} && $v->{registrable} ne '';
      }
      next if $own;
      push @hosts, { host => $host, domain => $domain, literal => $literal, addrs => [],
                     risk => ($st->{tld} && _tld_weight($st->{tld}, $host)) || 0 };
    }
  }
  @hosts = sort { $b->{risk} <=> $a->{risk} || $a->{host} cmp $b->{host} } @hosts;
  $d->{hosts} = \@hosts;
  my $budget = $conf->{mekiki_max_dns};
  for my $h (@hosts) {
    if ($h->{literal}) {
      $h->{addrs} = [$h->{host}];
      next;
    }
    if ($budget-- <= 0) {
      dbg("mekiki: not resolving $h->{host}: $conf->{mekiki_max_dns} lookups per message");
      next;
    }
    for my $type ('A', 'AAAA') {
      $d->{pending}++;
      my $ent = { rulename => 'MEKIKI_URL_ASN', type => 'MEKIKI', zone => $h->{host},
                  key => "MEKIKI:$type:$h->{host}" };
      my $sent = $pms->{async}->bgsend_and_start_lookup($h->{host}, $type, undef, $ent, sub {
        my ($e, $pkt) = @_;
        if ($pkt) {
          for my $rr ($pkt->answer) {
            push @{$h->{addrs}}, $rr->address if $rr->type eq 'A' || $rr->type eq 'AAAA';
          }
        }
        $self->_dns_answered($pms, $st, $d);
      }, master_deadline => $pms->{master_deadline});
      $self->_dns_answered($pms, $st, $d) unless $sent;
    }
  }
}

sub _dns_answered {
  my ($self, $pms, $st, $d) = @_;
  return if --$d->{pending} > 0 || $d->{done};
  $d->{done} = 1;
  $self->_score_link_addresses($pms, $st, $_) for sort keys %{$d->{rules}};
}

# MEKIKI_URL_ASN by the highest link weight; MEKIKI_URL_SHARED_IP for an
# address that unrelated registrable domains share (weight: its network's
# shared weight, default 1).
sub _score_link_addresses {
  my ($self, $pms, $st, $rule) = @_;
  my $d = $pms->{mekiki_dns};
  $self->{max_options} = $pms->{conf}{mekiki_max_options};
  my ($best, $link) = (0, _new_set());
  my (%by_ip, @order);
  for my $h (@{$d->{hosts}}) {
    my %uniq;
    for my $addr (grep { !$uniq{$_}++ } @{$h->{addrs}}) {
      my ($asn, $org) = _asn_of($st, $addr);
      if ($asn) {
        my $w = _asn_weight($st, $asn, ASN_LINK, 0);
        if ($w > 0) {
          $self->_add($link, _asn_option($h->{host}, $addr, $asn, $org), $w);
          $best = $w if $w > $best;
        }
      }
      my $shared = $asn ? _asn_weight($st, $asn, ASN_SHARED, 1.0) : 1.0;
      next unless $shared > 0;
      my $e = $by_ip{$addr} ||= do { push @order, $addr;
                                     { domains => {}, list => [], weight => $shared, asn => $asn } };
      push @{$e->{list}}, $h->{domain} unless $e->{domains}{$h->{domain}}++;
    }
  }
  my %res;
  _insert(\%res, 'MEKIKI_URL_ASN', $link) if $best > 0;
  my ($shared_set, $shared_best) = (_new_set(), 0);
  for my $addr (@order) {
    my $e = $by_ip{$addr};
    next if @{$e->{list}} < $pms->{conf}{mekiki_shared_ip_min_domains};
    my @l = sort @{$e->{list}};
    my $o = "$addr:" . join(',', @l[0 .. ($#l < 3 ? $#l : 3)]);
    $o .= ":AS$e->{asn}" if $e->{asn};
    $self->_add($shared_set, $o, $e->{weight});
    $shared_best = $e->{weight} if $e->{weight} > $shared_best;
  }
  _insert(\%res, 'MEKIKI_URL_SHARED_IP', $shared_set) if $shared_best > 0;
  $self->_hit($pms, $rule, $res{$rule}) if $res{$rule};
  $pms->rule_ready($rule, 1); # every answer is in
}

1;

__END__

=head1 NAME

Mail::SpamAssassin::Plugin::Mekiki - brand-impersonation phishing detection (libmekiki)

=head1 SYNOPSIS

  loadplugin Mail::SpamAssassin::Plugin::Mekiki

  mekiki_library     /usr/local/lib/libmekiki.so.0
  mekiki_brands_map  /usr/local/share/mekiki/mekiki_brands.map
  mekiki_tld_map     /usr/local/share/mekiki/mekiki_tld.map
  mekiki_lures_map   /usr/local/share/mekiki/mekiki_lures.map

  header MEKIKI_BRAND_CONFUSABLE eval:check_mekiki('MEKIKI_BRAND_CONFUSABLE')

=head1 DESCRIPTION

The detection of mekiki's rspamd plugin, with the same rule names, for
SpamAssassin.  See the mekiki README.  Each rule is an eval rule
C<check_mekiki('NAME')>; the message is analysed once, at the first of them.
A brand's weight (fourth column of the brand map) or a TLD's weight scales
the rule's configured score for that message, as rspamd's dynamic weights do.

=head1 ADMINISTRATOR SETTINGS

=over 4

=item mekiki_library PATH (default: libmekiki.so.0)

=item mekiki_brands_map PATH (required)

=item mekiki_tld_map PATH, mekiki_lures_map PATH (optional)

=item mekiki_max_text_bytes, mekiki_max_parts, mekiki_max_hits, mekiki_max_options, mekiki_max_urls

Bounds, as the rspamd options of the same names.

=back

=cut
