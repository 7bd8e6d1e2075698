#!/usr/bin/perl
# Builds a MaxMind DB (.mmdb) IP -> ASN database from ip-location-db style CSV
# files (first_ip,last_ip,asn,"organisation"), IPv4 and IPv6 in one tree.
# The records use GeoLite2-ASN's keys (autonomous_system_number,
# autonomous_system_organization), so mekiki reads this file, GeoLite2-ASN and
# DB-IP's ASN Lite alike.
#
#   perl scripts/asn_csv2mmdb.pl OUT.mmdb IN.csv [IN.csv ...]
#
# Lines that do not parse are counted and reported, never fatal; the output is
# written to a temporary file beside OUT.mmdb and renamed over it (rename(2)):
# a reader sees the old file or the new one, never half of one, and an
# rspamd worker that maps the old file keeps it (a file rewritten in place
# under a mapping kills the worker with SIGBUS).
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

@ARGV >= 2 or die "usage: $0 OUT.mmdb IN.csv [IN.csv ...]\n";
my ($out, @in) = @ARGV;

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version            => 6,
    record_size           => 28,
    database_type         => 'mekiki-ASN',
    languages             => ['en'],
    description           => { en => 'IP to ASN for mekiki (ip-location-db: RouteViews, NRO, DB-IP; CC BY 4.0)' },
    map_key_type_callback => sub {
        return $_[0] eq 'autonomous_system_number' ? 'uint32' : 'utf8_string';
    },
    # Reserved and private ranges stay out of the tree, as in MaxMind's files.
    remove_reserved_networks => 1,
    alias_ipv6_to_ipv4       => 1,
    merge_strategy           => 'none',
);

my ($rows, $bad, $aliased) = (0, 0, 0);
for my $file (@in) {
    open my $fh, '<:encoding(UTF-8)', $file or die "$file: $!\n";
    while (my $line = <$fh>) {
        chomp $line;
        $line =~ s/\r$//;
        next if $line eq '' || $line =~ /^#/;
        # first_ip,last_ip,asn,organisation — the organisation may be quoted
        # ("Cloudflare, Inc.") with "" for a quote inside.
        my ($first, $last, $asn, $org) = split /,/, $line, 4;
        if (defined $org && $org =~ /^"(.*)"$/s) {
            ($org = $1) =~ s/""/"/g;
        }
        unless (defined $org && defined $asn && $asn =~ /^\d{1,10}$/ && $asn <= 4294967295) {
            $bad++;
            warn "$file:$.: skipped: $line\n" if $bad <= 10;
            next;
        }
        my %rec = (autonomous_system_number => $asn + 0);
        $rec{autonomous_system_organization} = $org if length $org;
        my $ok = eval { $tree->insert_range($first, $last, \%rec); 1 };
        if (!$ok && $@ =~ /aliased network/) {
            # 2001::/32 (Teredo) and 2002::/16 (6to4) alias IPv4 space in
            # the tree; the IPv4 rows answer for them.
            $aliased++;
            next;
        }
        if (!$ok) {
            $bad++;
            warn "$file:$.: skipped ($@)" if $bad <= 10;
            next;
        }
        $rows++;
    }
    close $fh;
}
my $tmp = "$out.tmp.$$";
open my $fh, '>:raw', $tmp or die "$tmp: $!\n";
$tree->write_tree($fh);
unless (close $fh and rename $tmp, $out) {
    my $err = $!;
    unlink $tmp;
    die "$out: $err\n";
}
printf STDERR "%s: %d ranges, %d lines skipped, %d aliased IPv6 ranges left to IPv4\n",
    $out, $rows, $bad, $aliased;
