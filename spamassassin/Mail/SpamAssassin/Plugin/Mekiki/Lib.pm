# Mail::SpamAssassin::Plugin::Mekiki::Lib -- libmekiki for Perl, through
# FFI::Platypus.
#
# The binding the SpamAssassin plugin adapts with, as the rspamd plugin
# adapts with the Lua binding (bindings/lua/mekiki_lua.c), and with the same
# shapes: a message view is a hash of plain Perl data, a verdict a list of
# [symbol, factor, [options]].  It knows nothing of SpamAssassin; it loads
# the library (refusing one of another ABI), builds maps and the policy, and
# hands views to the engine.  Handles are objects freed when the last
# reference goes; a policy keeps the maps it borrows alive.
#
# Copyright the mekiki authors.  Same licence as the rest of mekiki.

package Mail::SpamAssassin::Plugin::Mekiki::Lib;

use strict;
use warnings;

our $VERSION = '0.1.0';

# Constants of mekiki.h; the test sa_layout compares them with the header.
use constant ABI => 7;             # MEKIKI_ABI_VERSION this binding was written for
use constant ELIMIT => -4;         # enum mekiki_status
use constant MESSAGE_DMARC_FAIL => 0x1; # MEKIKI_MESSAGE_*
use constant MESSAGE_REPORT => 0x2;
use constant HOST_ADDRESS => 0x80; # MEKIKI_HOST_ADDRESS

my $ERR_FN = '(opaque,uint,string)->void';
# The functions bound, as (name without mekiki_, arguments, return type).
# Texts are passed as (string, size_t): the bytes of a Perl byte string.
my @SIGNATURES = (
  [strerror => ['int'] => 'string'],
  [catalogue_new_cached => ['string', 'size_t', 'string', $ERR_FN, 'opaque', 'int*'] => 'opaque'],
  [catalogue_cache_note => ['opaque'] => 'string'],
  [catalogue_free => ['opaque'] => 'void'],
  [catalogue_brand_count => ['opaque'] => 'uint32'],
  [catalogue_name_count => ['opaque'] => 'uint32'],
  [tld_map_new => ['string', 'size_t', $ERR_FN, 'opaque', 'int*'] => 'opaque'],
  [tld_map_free => ['opaque'] => 'void'],
  [tld_map_count => ['opaque'] => 'size_t'],
  [label_map_new => ['string', 'size_t', $ERR_FN, 'opaque', 'int*'] => 'opaque'],
  [asn_open => ['string', 'opaque', 'size_t'] => 'opaque'],
  [asn_close => ['opaque'] => 'void'],
  [asn_map_new => ['string', 'size_t', $ERR_FN, 'opaque', 'int*'] => 'opaque'],
  [asn_map_free => ['opaque'] => 'void'],
  [asn_map_count => ['opaque'] => 'size_t'],
  [policy_new => ['opaque', 'opaque', 'opaque', 'int*'] => 'opaque'],
  [policy_free => ['opaque'] => 'void'],
  [policy_set_bound => ['opaque', 'string', 'sint64'] => 'int'],
  [policy_set_networks => ['opaque', 'opaque', 'opaque'] => 'int'],
  [policy_set_hosting => ['opaque', 'opaque'] => 'int'],
  [policy_set_labels => ['opaque', 'opaque'] => 'int'],
  [message_new => [] => 'opaque'],
  [message_free => ['opaque'] => 'void'],
  [message_reset => ['opaque', 'opaque'] => 'int'],
  [message_set_subject => ['opaque', 'string', 'size_t'] => 'int'],
  [message_add_part => ['opaque', 'string', 'size_t', 'string', 'size_t'] => 'int'],
  [message_add_from => ['opaque', 'string', 'size_t', 'string', 'size_t'] => 'int'],
  [message_set_from_header => ['opaque', 'string', 'size_t'] => 'int'],
  [message_set_reply_to => ['opaque', 'string', 'size_t'] => 'int'],
  [message_set_flags => ['opaque', 'uint'] => 'int'],
  [message_add_link => ['opaque', 'string', 'size_t', 'string', 'size_t', 'string', 'size_t']
     => 'int'],
  [message_set_sender_ip => ['opaque', 'string', 'size_t'] => 'int'],
  [message_add_host_address => ['opaque', 'string', 'size_t', 'string', 'size_t', 'string',
                                'size_t'] => 'int'],
  [decide => ['opaque'] => 'int'],
  [decide_networks => ['opaque'] => 'int'],
  [verdict_count => ['opaque'] => 'size_t'],
  [verdict_symbol => ['opaque', 'size_t'] => 'string'],
  [verdict_factor => ['opaque', 'size_t'] => 'double'],
  [verdict_option_count => ['opaque', 'size_t'] => 'size_t'],
  [verdict_option => ['opaque', 'size_t', 'size_t'] => 'string'],
  [resolve_host => ['opaque', 'size_t'] => 'long'],
  [link_host => ['opaque', 'size_t'] => 'string'],
  [link_host_registrable => ['opaque', 'size_t'] => 'string'],
  [link_host_flags => ['opaque', 'size_t'] => 'uint'],
);

my %LOADED; # path => binding: a library is bound once per process

# The library at path (a file name the dynamic linker finds, or a path).
# Dies naming it when it cannot be loaded or has another ABI.
sub load {
  my ($class, $path) = @_;
  return $LOADED{$path} if $LOADED{$path};
  require FFI::Platypus;
  my $ffi = FFI::Platypus->new(api => 2, lib => [$path]);
  my $version = $ffi->function('mekiki_version' => [] => 'string')->call;
  my $abi = eval { $ffi->function('mekiki_abi_version' => [] => 'int')->call };
  die "libmekiki $version has " . (defined $abi ? "ABI $abi" : 'no ABI version') .
      "; this plugin needs ABI " . ABI . " (install the plugin and the library " .
      "from the same build)\n" unless defined $abi && $abi == ABI;
  my $self = bless { path => $path, ffi => $ffi, version => $version }, $class;
  $self->{fn}{$_->[0]} = $ffi->function("mekiki_$_->[0]" => $_->[1] => $_->[2])
    for @SIGNATURES;
  return $LOADED{$path} = $self;
}

sub version { $_[0]{version} }

# Bytes of a Perl string (decoded text may carry the UTF8 flag: its UTF-8
# bytes, copied), and their number: a (string, size_t) argument.
sub _str {
  my ($s) = @_;
  $s = '' unless defined $s;
  utf8::encode($s) if utf8::is_utf8($s);
  return ($s, length $s);
}

sub _call { my ($self, $name, @args) = @_; return $self->{fn}{$name}->call(@args) }

# Dies with the library's reason unless rc is MEKIKI_OK.
sub _ok {
  my ($self, $rc, $what) = @_;
  die "$what: " . $self->_call(strerror => $rc) . "\n" if $rc != 0;
}

# A handle from constructor $new over a map's text (@extra: its arguments
# after the text), freed by $free, and the bad lines the library reported
# ("line N: why", in order; control bytes and invalid UTF-8 quoted as \xNN).
# Dies with the reason when the map is unusable (a map beyond a catalogue's
# bounds says why in its last report).
sub _map {
  my ($self, $new, $free, $text, @extra) = @_;
  my @errors;
  my $cb = $self->{ffi}->closure(sub { my (undef, $line, $msg) = @_; push @errors, "line $line: $msg" });
  my $status = 0;
  my $h = $self->_call($new, _str($text), @extra, $cb, undef, \$status);
  die(($status == ELIMIT && @errors ? $errors[-1] : $self->_call(strerror => $status)) . "\n")
    unless $h;
  return (Mail::SpamAssassin::Plugin::Mekiki::Lib::Handle->new($self, $h, $free), \@errors);
}

# A catalogue (brands or lures) from a map's text, its compiled patterns
# kept in cache_dir (undef or '': none; see mekiki_catalogue_new_cached()),
# and the bad lines.  The handle tells its brands, names and cache note.
sub catalogue {
  my ($self, $text, $cache_dir) = @_;
  my ($cat, $errors) = $self->_map('catalogue_new_cached', 'catalogue_free', $text, $cache_dir);
  $cat->{$_} = $self->_call("catalogue_$_" => $cat->{h}) for qw(brand_count name_count cache_note);
  return ($cat, $errors);
}

# A TLD weight map and an ASN weight map from their texts, and the bad lines.
sub tld_map {
  my ($self, $text) = @_;
  my ($map, $errors) = $self->_map('tld_map_new', 'tld_map_free', $text);
  $map->{count} = $self->_call(tld_map_count => $map->{h});
  return ($map, $errors);
}

# The label baselines: a tld_map whose values are bits (mekiki_label_map_new()).
sub label_map {
  my ($self, $text) = @_;
  my ($map, $errors) = $self->_map('label_map_new', 'tld_map_free', $text);
  $map->{count} = $self->_call(tld_map_count => $map->{h});
  return ($map, $errors);
}

sub asn_map {
  my ($self, $text) = @_;
  my ($map, $errors) = $self->_map('asn_map_new', 'asn_map_free', $text);
  $map->{count} = $self->_call(asn_map_count => $map->{h});
  return ($map, $errors);
}

# The ASN database at path; dies with the reason.
sub asn_open {
  my ($self, $path) = @_;
  my $err = "\0" x 256;
  require FFI::Platypus::Buffer;
  my ($eptr, $elen) = FFI::Platypus::Buffer::scalar_to_buffer($err);
  my $db = $self->_call(asn_open => $path, $eptr, $elen)
    or die unpack('Z*', $err) . "\n";
  return Mail::SpamAssassin::Plugin::Mekiki::Lib::Handle->new($self, $db, 'asn_close');
}

# The policy over handles of this binding: brands (required), lures, tld,
# hosting (a tld_map of the free-hosting suffixes), labels (a label_map, the
# label baselines), asn_db with asn_map
# (optional), and bounds ({ name => value }, see
# mekiki_policy_set_bound()).  Dies naming a refused bound.
sub policy {
  my ($self, %a) = @_;
  my $status = 0;
  my $p = $self->_call(policy_new => map({ $_ && $_->{h} } @a{qw(brands lures tld)}), \$status)
    or die "cannot build the policy: " . $self->_call(strerror => $status) . "\n";
  my $policy = bless { lib => $self,
                       keep => [ grep { $_ } @a{qw(brands lures tld hosting labels asn_db
                                                    asn_map)} ],
                       h => Mail::SpamAssassin::Plugin::Mekiki::Lib::Handle->new($self, $p,
                                                                      'policy_free') },
                     'Mail::SpamAssassin::Plugin::Mekiki::Lib::Policy';
  for my $name (sort keys %{$a{bounds} || {}}) {
    $self->_ok($self->_call(policy_set_bound => $p, $name, $a{bounds}{$name}),
               "$name $a{bounds}{$name}");
  }
  $self->_ok($self->_call(policy_set_hosting => $p, $a{hosting}{h}), 'hosting map')
    if $a{hosting};
  $self->_ok($self->_call(policy_set_labels => $p, $a{labels}{h}), 'label baselines')
    if $a{labels};
  $self->_ok($self->_call(policy_set_networks => $p, $a{asn_db}{h}, $a{asn_map}{h}),
             'ASN database') if $a{asn_db} && $a{asn_map};
  return $policy;
}

package Mail::SpamAssassin::Plugin::Mekiki::Lib::Handle;

# A native object and the function that frees it.
sub new {
  my ($class, $lib, $h, $free) = @_;
  return bless { lib => $lib, h => $h, free => $free }, $class;
}

sub DESTROY {
  my ($self) = @_;
  # At the end of the process, objects go in no fixed order; the memory goes
  # with the process.
  return if ${^GLOBAL_PHASE} eq 'DESTRUCT' || !$self->{h};
  $self->{lib}{fn}{$self->{free}}->call($self->{h});
  $self->{h} = undef;
}

package Mail::SpamAssassin::Plugin::Mekiki::Lib::Policy;

BEGIN {
  no strict 'refs';
  *{$_} = \&{"Mail::SpamAssassin::Plugin::Mekiki::Lib::$_"}
    for qw(_str HOST_ADDRESS MESSAGE_DMARC_FAIL MESSAGE_REPORT);
}

# The message view of this policy called $slot (one per use, kept between
# messages with its scratch memory), reset for a new message.
sub _message {
  my ($self, $slot) = @_;
  my $lib = $self->{lib};
  $self->{$slot} ||= Mail::SpamAssassin::Plugin::Mekiki::Lib::Handle->new(
    $lib, $lib->_call('message_new') || die("cannot allocate a message view\n"),
    'message_free');
  my $m = $self->{$slot}{h};
  $lib->_ok($lib->_call(message_reset => $m, $self->{h}{h}), 'message_reset');
  return $m;
}

# The verdict of view m: [[symbol, factor, [options]], ...] in the engine's order.
sub _verdict {
  my ($lib, $m) = @_;
  return [ map {
    my $i = $_;
    [ $lib->_call(verdict_symbol => $m, $i), $lib->_call(verdict_factor => $m, $i),
      [ map { $lib->_call(verdict_option => $m, $i, $_) }
        0 .. $lib->_call(verdict_option_count => $m, $i) - 1 ] ]
  } 0 .. $lib->_call(verdict_count => $m) - 1 ];
}

# The policy's verdict on a view -- { subject, parts => [[text, raw]],
# from => [[name, address]], from_header, reply_to, dmarc_fail, report,
# links => [[url, host, shown]], sender } as the Lua binding's
# policy:decide() takes it (raw: a part's bytes before a charset conversion,
# else undef; shown: an anchor's text, else undef; sender: the address that
# connected, decided with MEKIKI_SENDER_ASN) -- and the link hosts worth
# resolving, in the engine's order: [{ host, registrable, address }]
# (address: the host is an IP address).  Dies when the engine fails.
sub decide {
  my ($self, $v) = @_;
  my $lib = $self->{lib};
  my $m = $self->_message('message');
  my $set = sub { my ($fn, $what, @args) = @_; $lib->_ok($lib->_call($fn => $m, @args), $what) };
  $set->(message_set_subject => 'subject', _str($v->{subject})) if defined $v->{subject};
  for my $p (@{$v->{parts} || []}) {
    my $raw = $p->[1];
    $set->(message_add_part => 'part', _str($p->[0]), $raw, defined $raw ? length $raw : 0);
  }
  $set->(message_add_from => 'From', _str($_->[0]), _str($_->[1])) for @{$v->{from} || []};
  $set->(message_set_from_header => 'From header', _str($v->{from_header}))
    if defined $v->{from_header};
  $set->(message_set_reply_to => 'Reply-To', _str($v->{reply_to})) if defined $v->{reply_to};
  $set->(message_set_flags => 'flags', ($v->{dmarc_fail} ? MESSAGE_DMARC_FAIL : 0) |
                                       ($v->{report} ? MESSAGE_REPORT : 0));
  for my $l (@{$v->{links} || []}) {
    $set->(message_add_link => 'link', _str($l->[0]), _str($l->[1]),
           defined $l->[2] ? _str($l->[2]) : (undef, 0));
  }
  $set->(message_set_sender_ip => 'sender', _str($v->{sender})) if defined $v->{sender};
  $set->(decide => 'mekiki_decide');
  $set->(decide_networks => 'mekiki_decide_networks') if defined $v->{sender};
  my @resolve;
  for (my $k = 0; (my $i = $lib->_call(resolve_host => $m, $k)) >= 0; $k++) {
    push @resolve, { host => $lib->_call(link_host => $m, $i),
                     registrable => $lib->_call(link_host_registrable => $m, $i),
                     address => $lib->_call(link_host_flags => $m, $i) & HOST_ADDRESS };
  }
  return (_verdict($lib, $m), \@resolve);
}

# The network symbols once the link hosts are resolved: { sender, addresses
# => [[host, domain, address], ...] } as the Lua binding's
# policy:networks() takes it; the verdict.
sub networks {
  my ($self, $in) = @_;
  my $lib = $self->{lib};
  my $m = $self->_message('networks');
  $lib->_ok($lib->_call(message_set_sender_ip => $m, _str($in->{sender})), 'sender')
    if defined $in->{sender};
  for my $a (@{$in->{addresses} || []}) {
    $lib->_ok($lib->_call(message_add_host_address => $m, map { _str($_) } @$a), 'address');
  }
  $lib->_ok($lib->_call(decide_networks => $m), 'mekiki_decide_networks');
  return _verdict($lib, $m);
}

1;
