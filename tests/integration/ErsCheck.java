/*
 * ErsCheck.java - an independent check of mailroom's evidence records with Bouncy
 * Castle's RFC 4998 implementation (org.bouncycastle.tsp.ers, Debian package
 * libbcpkix-java), run as a single-file Java program by tests/integration/resign.sh:
 *
 *   java -cp bcprov.jar:bcpkix.jar:bcutil.jar ErsCheck.java CA.pem ER FILE... [-- ER FILE...]...
 *
 * For each record ER: every FILE must be present in it (ERSEvidenceRecord
 * .validatePresent of the file's bytes: hash in the first list, the reduced hash
 * tree up to the time-stamp's imprint, through every renewal), and every
 * time-stamp token of every chain must verify (TimeStampToken.validate with the
 * certificate the token carries) and that certificate must be signed by CA.pem.
 * Prints "BC-OK <ER> <n objects> <chains> <time-stamps>" or "BC-FAIL <ER> <reason>"
 * per record; exits 0 when every record passed, 1 otherwise.
 */
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.Date;

import org.bouncycastle.asn1.tsp.ArchiveTimeStamp;
import org.bouncycastle.asn1.tsp.ArchiveTimeStampChain;
import org.bouncycastle.asn1.tsp.EvidenceRecord;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.tsp.TimeStampToken;
import org.bouncycastle.tsp.ers.ERSArchiveTimeStamp;
import org.bouncycastle.tsp.ers.ERSByteData;
import org.bouncycastle.tsp.ers.ERSEvidenceRecord;

public class ErsCheck {
	public static void main(String[] args) throws Exception {
		X509Certificate ca = (X509Certificate) CertificateFactory.getInstance("X.509")
				.generateCertificate(new FileInputStream(args[0]));
		int fails = 0, i = 1;
		while (i < args.length) {
			int j = i;
			while (j < args.length && !args[j].equals("--"))
				j++;
			String[] one = java.util.Arrays.copyOfRange(args, i, j);
			if (!check(ca, one))
				fails++;
			i = j + 1;
		}
		System.exit(fails == 0 ? 0 : 1);
	}

	static boolean check(X509Certificate ca, String[] args) {
		try {
			byte[] der = Files.readAllBytes(Paths.get(args[0]));
			DigestCalculatorProvider dcp = new JcaDigestCalculatorProviderBuilder().build();
			ERSEvidenceRecord er = new ERSEvidenceRecord(der, dcp);
			Date now = new Date();
			for (int i = 1; i < args.length; i++) {
				byte[] data = Files.readAllBytes(Paths.get(args[i]));
				er.validatePresent(new ERSByteData(data), now);
			}
			EvidenceRecord asn = er.toASN1Structure();
			ArchiveTimeStampChain[] chains = asn.getArchiveTimeStampSequence().getArchiveTimeStampChains();
			int n = 0;
			for (ArchiveTimeStampChain ch : chains) {
				for (ArchiveTimeStamp ats : ch.getArchiveTimestamps()) {
					TimeStampToken tok = new ERSArchiveTimeStamp(ats, dcp).getTimeStampToken();
					@SuppressWarnings("unchecked")
					Collection<X509CertificateHolder> certs = tok.getCertificates().getMatches(tok.getSID());
					if (certs.isEmpty())
						throw new Exception("time-stamp " + n + " carries no signer certificate");
					X509CertificateHolder signer = certs.iterator().next();
					tok.validate(new JcaSimpleSignerInfoVerifierBuilder().build(signer));
					if (!signer.isSignatureValid(new JcaContentVerifierProviderBuilder().build(ca)))
						throw new Exception("the TSA certificate of time-stamp " + n + " is not signed by the CA");
					n++;
				}
			}
			System.out.println("BC-OK " + args[0] + " " + (args.length - 1) + " " + chains.length + " " + n);
			return true;
		} catch (Exception e) {
			System.out.println("BC-FAIL " + args[0] + " " + e);
			return false;
		}
	}
}
